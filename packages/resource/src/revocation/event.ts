/** What a revocation event names (DESIGN.md): one token, a user, a browser session, a client. */
export type RevocationKind = 'jti' | 'sub' | 'sid' | 'client';

/** A revocation event as it travels on the channel: `{ kind, value, until }`. */
export interface RevocationEvent {
  readonly kind: RevocationKind;
  readonly value: string;
  /** Epoch seconds after which no token the event can hit is still valid. */
  readonly until: number;
}

const kinds: ReadonlySet<string> = new Set(['jti', 'sub', 'sid', 'client']);

/** The event in a channel message, or undefined for anything else (ignored, never thrown). */
export function parseRevocationEvent(message: string): RevocationEvent | undefined {
  if (typeof message !== 'string' || message.length > 4096) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { kind, value, until } = parsed as Record<string, unknown>;
  if (typeof kind !== 'string' || !kinds.has(kind)) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) return undefined;
  if (typeof until !== 'number' || !Number.isSafeInteger(until) || until <= 0) return undefined;
  return Object.freeze({ kind: kind as RevocationKind, value, until });
}
