import { TesseraTypeError } from './errors/base.js';

/**
 * The revocation event, the one contract between the token service (which publishes) and resource
 * servers (which keep a deny-list from it), as docs/architecture.md describes: `{ "kind", "value", "until" }` as JSON on
 * topic `tessera.revocation`. It lives here so both sides encode and parse it with the same code.
 */

/** The topic revocation events are published on. */
export const REVOCATION_TOPIC = 'tessera.revocation';

/** What an event names: one token (`jti`), a user (`sub`), a browser session (`sid`), a client. */
export type RevocationKind = 'jti' | 'sub' | 'sid' | 'client';

export const revocationKinds: readonly RevocationKind[] = Object.freeze(['jti', 'sub', 'sid', 'client']);

/** A revocation event exactly as it travels on the channel. */
export interface RevocationEvent {
  readonly kind: RevocationKind;
  readonly value: string;
  /** Epoch seconds: no token the event can hit is valid after it, so a deny-list entry may go. */
  readonly until: number;
}

// Bounds a subscriber enforces on what it holds in memory; the encoder refuses the same, so an
// event is never published that every subscriber would drop.
const maxMessageLength = 4096;
const maxValueLength = 1024;

function validValue(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= maxValueLength;
}

function validUntil(until: unknown): until is number {
  return typeof until === 'number' && Number.isSafeInteger(until) && until > 0;
}

/** The event's wire form: exactly the three fields, in the documented order. */
export function encodeRevocationEvent(event: RevocationEvent): string {
  const misuse = (message: string) => new TesseraTypeError('ERR_INVALID_REVOCATION', message);
  const { kind, value, until } = event;
  if (!revocationKinds.includes(kind)) throw misuse('kind must be jti, sub, sid or client');
  if (!validValue(value))
    throw misuse(`value must be a non-empty string of at most ${maxValueLength} characters`);
  if (!validUntil(until)) throw misuse('until must be epoch seconds');
  return JSON.stringify({ kind, value, until });
}

/** The event in a channel message, or undefined for anything else (ignored, never thrown). */
export function parseRevocationEvent(message: string): RevocationEvent | undefined {
  if (typeof message !== 'string' || message.length > maxMessageLength) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { kind, value, until } = parsed as Record<string, unknown>;
  if (typeof kind !== 'string' || !revocationKinds.includes(kind as RevocationKind)) return undefined;
  if (!validValue(value) || !validUntil(until)) return undefined;
  return Object.freeze({ kind: kind as RevocationKind, value, until });
}
