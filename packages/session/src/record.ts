/** What the store holds for one session, JSON-encoded under `<prefix>s:<idHash>`. */
export interface SessionRecord<Data extends object> {
  /** SHA-256 of the cookie's id (base64url): the key, never the id itself. */
  readonly idHash: string;
  readonly userId: string;
  readonly data: Data;
  /** Epoch ms. */
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly absoluteExpiresAt: number;
  /** 32 random bytes (base64url) the CSRF token is derived from. */
  readonly csrfSecret: string;
  /** Incremented by every write: the compare-and-set of concurrent updates relies on the raw value changing. */
  readonly version: number;
  readonly userAgent?: string;
  readonly address?: string;
}

export function encodeRecord<Data extends object>(record: SessionRecord<Data>): string {
  return JSON.stringify(record);
}

/** The record, or null when the value is not one of ours (corrupt, foreign, tampered with). */
export function decodeRecord<Data extends object>(raw: string, idHash: string): SessionRecord<Data> | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  const ok =
    r.idHash === idHash &&
    typeof r.userId === 'string' &&
    typeof r.data === 'object' &&
    r.data !== null &&
    Number.isSafeInteger(r.createdAt) &&
    Number.isSafeInteger(r.lastSeenAt) &&
    Number.isSafeInteger(r.absoluteExpiresAt) &&
    typeof r.csrfSecret === 'string' &&
    Number.isSafeInteger(r.version) &&
    (r.userAgent === undefined || typeof r.userAgent === 'string') &&
    (r.address === undefined || typeof r.address === 'string');
  return ok ? (value as SessionRecord<Data>) : null;
}

/** Whether the record has passed its idle or its absolute timeout at `now`. */
export function isExpired(record: SessionRecord<object>, now: number, idleTimeoutMs: number): boolean {
  return record.absoluteExpiresAt <= now || record.lastSeenAt + idleTimeoutMs <= now;
}

/**
 * The store's own expiry for the record: whichever timeout comes first. It is a backstop (reads
 * check the timeouts themselves) that frees the entry without any sweep of ours.
 */
export function storeTtl(record: SessionRecord<object>, now: number, idleTimeoutMs: number): number {
  return Math.max(1, Math.min(record.lastSeenAt + idleTimeoutMs, record.absoluteExpiresAt) - now);
}
