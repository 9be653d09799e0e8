import { createHmac, timingSafeEqual } from 'node:crypto';
import { TesseraTypeError } from '@tessera/core';
import type { SessionRecord } from './record.js';

/** Where the manager keeps what a Session must not expose: the stored value and the CSRF secret. */
export interface SessionInternals<Data extends object> {
  readonly record: SessionRecord<Data>;
  /** The exact stored string: the `expected` of the next compare-and-set. */
  readonly raw: string;
}

let readInternals: (session: Session<object>) => SessionInternals<object>;

export function internalsOf<Data extends object>(session: Session<Data>): SessionInternals<Data> {
  if (!(session instanceof Session))
    throw new TesseraTypeError('ERR_INVALID_SESSION', 'not a session made by a session manager');
  return readInternals(session) as SessionInternals<Data>;
}

/**
 * A live session as read from the store: an immutable snapshot. Writes (`update`, `touch`) return
 * a new snapshot. It holds neither the cookie's id nor the CSRF secret in a visible field, so
 * logging it leaks nothing usable.
 */
export class Session<Data extends object> {
  /** SHA-256 of the id: safe to show as a handle ("log out that device"). */
  readonly idHash: string;
  readonly userId: string;
  readonly data: Readonly<Data>;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly absoluteExpiresAt: number;
  readonly version: number;
  readonly userAgent: string | undefined;
  readonly address: string | undefined;
  readonly #internals: SessionInternals<Data>;
  #csrfToken: string | undefined;

  static {
    // A private field read through a module-level function: the manager sees it, users do not.
    readInternals = (session) => session.#internals;
  }

  constructor(record: SessionRecord<Data>, raw: string) {
    this.idHash = record.idHash;
    this.userId = record.userId;
    this.data = record.data;
    this.createdAt = record.createdAt;
    this.lastSeenAt = record.lastSeenAt;
    this.absoluteExpiresAt = record.absoluteExpiresAt;
    this.version = record.version;
    this.userAgent = record.userAgent;
    this.address = record.address;
    this.#internals = { record, raw };
  }

  /**
   * The synchronizer token to put in forms (`_csrf`) or send back as `x-csrf-token`:
   * HMAC-SHA256(csrfSecret, idHash). Stable for the life of the session, different for every session.
   */
  get csrfToken(): string {
    this.#csrfToken ??= createHmac('sha256', internalsOf(this).record.csrfSecret)
      .update(this.idHash)
      .digest('base64url');
    return this.#csrfToken;
  }

  /** Constant-time comparison of a submitted token with this session's. */
  csrfTokenMatches(candidate: string | undefined): boolean {
    if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > 128) return false;
    const expected = Buffer.from(this.csrfToken);
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  toJSON(): Record<string, unknown> {
    return {
      idHash: this.idHash,
      userId: this.userId,
      data: this.data,
      createdAt: this.createdAt,
      lastSeenAt: this.lastSeenAt,
      absoluteExpiresAt: this.absoluteExpiresAt,
    };
  }
}
