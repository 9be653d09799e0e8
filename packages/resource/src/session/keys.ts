import { hkdfSync } from 'node:crypto';
import { TesseraTypeError } from '@tessera/core';

/** One key of one edge (caller -> audience) of session references. */
export interface ReferenceKey {
  /** Names the key within its edge (letters, digits, `_`, `-`; at most 32). */
  readonly id: string;
  /** At least 32 bytes. */
  readonly secret: string | Uint8Array;
}

export const keyIdShape = /^[A-Za-z0-9_-]{1,32}$/;
/** A part's name: no space (a chain's separator), nothing a header could not carry. */
export const nameShape = /^[A-Za-z0-9._:-]{1,64}$/;

function misuse(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_OPTION', message);
}

export function checkName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || !nameShape.test(name)) {
    throw misuse(`${what} must be 1 to 64 letters, digits, '.', '_', ':' or '-'`);
  }
}

/**
 * The key of one edge, derived from a deployment's master secret by whoever provisions the system
 * (`tessera dev` does): HKDF-SHA-256 with the edge and the key id as info, so every edge and every
 * rotation has its own key while the running parts are each given only the keys of their edges.
 */
export function deriveReferenceKey(
  master: string | Uint8Array,
  from: string,
  to: string,
  id: string,
): ReferenceKey {
  checkName(from, 'from');
  checkName(to, 'to');
  if (typeof id !== 'string' || !keyIdShape.test(id))
    throw misuse("a key id is 1 to 32 letters, digits, '_' or '-'");
  if (Buffer.byteLength(master) < 32) throw misuse('the master secret must be at least 32 bytes');
  const secret = Buffer.from(
    hkdfSync('sha256', master, '', `tessera session reference key ${from} ${to} ${id}`, 32),
  );
  return Object.freeze({ id, secret: secret.toString('base64url') });
}

/**
 * Keys written as text, for an environment variable: `peer=keyid:secret` entries separated by
 * commas or white space, `peer` being the audience (keys that mint) or the caller (keys that open;
 * two entries for one caller during a rotation). Secrets are never echoed in an error.
 */
export function parseReferenceKeys(text: string): Readonly<Record<string, readonly ReferenceKey[]>> {
  // No prototype: a peer named `__proto__` or `constructor` is a key like any other.
  const keys: Record<string, ReferenceKey[]> = Object.create(null);
  for (const entry of text.split(/[\s,]+/).filter((e) => e.length > 0)) {
    const match = /^([^=]+)=([^:]+):(.+)$/.exec(entry);
    if (match === null) throw misuse('session reference keys are written peer=keyid:secret');
    const [, peer, id, secret] = match as unknown as [string, string, string, string];
    checkName(peer, 'a peer');
    if (!keyIdShape.test(id))
      throw misuse(`the key id for ${peer} must be 1 to 32 letters, digits, '_' or '-'`);
    if (Buffer.byteLength(secret) < 32) throw misuse(`the key ${id} for ${peer} must be at least 32 bytes`);
    keys[peer] = [...(keys[peer] ?? []), Object.freeze({ id, secret })];
  }
  return keys;
}

/**
 * `parseReferenceKeys` for a part that mints: one key per audience (two would leave which one
 * mints to chance).
 */
export function parseMintingKeys(text: string): Readonly<Record<string, ReferenceKey>> {
  const keys: Record<string, ReferenceKey> = Object.create(null);
  for (const [audience, list] of Object.entries(parseReferenceKeys(text))) {
    if (list.length !== 1) throw misuse(`one key mints for ${audience}, not ${list.length}`);
    keys[audience] = list[0] as ReferenceKey;
  }
  return keys;
}

/** One part's keys: what it opens, by caller, and what it mints with, by audience. */
export interface PartKeys {
  readonly accept: Readonly<Record<string, readonly ReferenceKey[]>>;
  readonly mint: Readonly<Record<string, ReferenceKey>>;
}

/**
 * Every part's keys for a system whose calls are `edges` (`[caller, audience]`), for whoever
 * provisions it: `keysOf` gives an edge's keys, the first the one that mints, every one accepted
 * (a new key first and the old one after it during a rotation). Each part is then given only its
 * own entry, so none holds a key for an edge it is not on.
 */
export function keysByPart(
  edges: readonly (readonly [from: string, to: string])[],
  keysOf: (from: string, to: string) => readonly ReferenceKey[],
): Readonly<Record<string, PartKeys>> {
  const parts: Record<
    string,
    { accept: Record<string, readonly ReferenceKey[]>; mint: Record<string, ReferenceKey> }
  > = Object.create(null);
  const partOf = (name: string) => {
    checkName(name, 'a part');
    parts[name] ??= { accept: Object.create(null), mint: Object.create(null) };
    return parts[name];
  };
  for (const [from, to] of edges) {
    const keys = keysOf(from, to);
    const minting = keys[0];
    if (minting === undefined) throw misuse(`no key for ${from} -> ${to}`);
    partOf(from).mint[to] = minting;
    partOf(to).accept[from] = [...keys];
  }
  return parts;
}
