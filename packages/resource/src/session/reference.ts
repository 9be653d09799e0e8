import { BoundedCache, SealedBox, TesseraTypeError } from '@tessera/core';
import { ResourceError } from '../errors.js';
import { checkName, keyIdShape, nameShape, type ReferenceKey } from './keys.js';

/**
 * A session reference: what a caller sends the next service in session mode instead of the cookie.
 *
 *   v3.<key id>.<audience>.<route>.<exp>.<chain>.<sealed session hash>
 *
 * (`audience`, `route` and `chain` base64url, `exp` in epoch seconds, the key id as written.)
 * - the sealed value is the session's store key (the SHA-256 hash of its id), never the id: what a
 *   service opens, logs or leaks hashes again at the edge and names nothing there;
 * - `chain` is every part the reference passed through, the edge first and its minter last (the
 *   gateway, then `orders` for a call orders makes to inventory): the receiver picks the key by the
 *   minter, so a caller it holds no key for is refused before anything else is read;
 * - each edge (caller -> audience) has its own key, and a key has an id so a receiver can accept two
 *   per caller while the minter moves to the new one: a service opens only references made for it,
 *   and mints only for the services it holds keys for;
 * - `audience` and `route` bind it to one service and one `METHOD /path`, and `exp` is a few seconds
 *   ahead: a reference replayed elsewhere or later is refused;
 * - AES-256-GCM with everything before the sealed part as additional authenticated data: one
 *   operation hides the hash and authenticates the key id, binding, expiry and chain.
 */

export interface SessionReferenceOptions {
  /** This part's name: the audience it opens references for, and the name it adds to a chain. */
  readonly self: string;
  /** The keys that open references made for `self`, by the caller that made them (two during a rotation). */
  readonly accept?: Readonly<Record<string, readonly ReferenceKey[]>>;
  /** The one key that mints references for each audience `self` may call. */
  readonly mint?: Readonly<Record<string, ReferenceKey>>;
  /** Seconds a reference lives. Default 30. */
  readonly lifetime?: number;
  /** Clock in epoch ms. */
  readonly now?: () => number;
}

export interface OpenedReference {
  /** The session's store key (`manager.getByHash`): not a cookie, not a reference. */
  readonly sessionHash: string;
  readonly audience: string;
  readonly route: string;
  /** The parts the reference passed through, the edge first and the caller last. */
  readonly chain: readonly string[];
  /** Epoch seconds. */
  readonly expiresAt: number;
}

export interface SessionReferences {
  readonly self: string;
  readonly lifetime: number;
  /**
   * A reference for one call of `route` at `audience` to the session stored under `sessionHash`,
   * naming `chain` (what this part received; empty at the edge) then `self`. Throws
   * `ERR_INVALID_OPTION` for an audience `self` holds no key for.
   */
  mint(sessionHash: string, chain: readonly string[], audience: string, route: string): string;
  /** The reference's content when it is genuine, unexpired, made for `self` and for `route`. */
  open(reference: string, route: string): OpenedReference;
}

const VERSION = 'v3';
const PURPOSE = 'tessera session reference v3';
const recentReferences = 4096;
const maxReferenceLength = 2048;
/** The most parts a reference passes through (the edge and the services after it). */
export const MAX_REFERENCE_CHAIN = 8;
const part = /^[A-Za-z0-9_-]*$/;
const hashShape = /^[A-Za-z0-9_-]{43}$/;

function invalid(message?: string): ResourceError {
  return new ResourceError('ERR_SESSION_REFERENCE_INVALID', message);
}

function misuse(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_OPTION', message);
}

function boxOf(key: ReferenceKey, edge: string): SealedBox {
  if (typeof key?.id !== 'string' || !keyIdShape.test(key.id)) {
    throw misuse(`the key id for ${edge} must be 1 to 32 letters, digits, '_' or '-'`);
  }
  const secret =
    typeof key.secret === 'string' ? Buffer.from(key.secret, 'utf8') : Buffer.from(key.secret ?? []);
  if (secret.length < 32) throw misuse(`the key ${key.id} for ${edge} must be at least 32 bytes`);
  return SealedBox.fromSecret(secret, PURPOSE);
}

export function createSessionReferences(options: SessionReferenceOptions): SessionReferences {
  const { self } = options;
  checkName(self, 'self');
  const lifetime = options.lifetime ?? 30;
  if (!Number.isSafeInteger(lifetime) || lifetime <= 0 || lifetime > 300) {
    throw misuse('lifetime must be 1 to 300 seconds');
  }
  const now = options.now ?? Date.now;

  // caller -> key id -> box; audience -> (key id, box).
  const opening = new Map<string, Map<string, SealedBox>>();
  for (const [caller, keys] of Object.entries(options.accept ?? {})) {
    checkName(caller, 'a caller');
    if (!Array.isArray(keys) || keys.length === 0)
      throw misuse(`accept.${caller} must list at least one key`);
    const boxes = new Map<string, SealedBox>();
    for (const key of keys as readonly ReferenceKey[]) {
      if (boxes.has(key?.id)) throw misuse(`accept.${caller} lists the key id ${key.id} twice`);
      boxes.set(key.id, boxOf(key, `${caller} -> ${self}`));
    }
    opening.set(caller, boxes);
  }
  const minting = new Map<string, { readonly id: string; readonly box: SealedBox }>();
  for (const [audience, key] of Object.entries(options.mint ?? {})) {
    checkName(audience, 'an audience');
    minting.set(audience, { id: key?.id, box: boxOf(key, `${self} -> ${audience}`) });
  }

  // A session calling the same route again soon gets the reference it got last time while at least
  // half its lifetime is left: the same credential, just not sealed again (the seal was most of a
  // session-mode gateway request's crypto). Each is kept until then, in seconds.
  const recent = new BoundedCache<string>({ max: recentReferences, now: () => now() / 1000 });

  function mint(sessionHash: string, chain: readonly string[], audience: string, route: string): string {
    const key = minting.get(audience);
    if (key === undefined) throw misuse(`${self} holds no session reference key for ${audience}`);
    if (typeof sessionHash !== 'string' || !hashShape.test(sessionHash)) throw misuse('not a session hash');
    const next = [...chain, self];
    // A chain this part received was checked when it was opened; only the edge's own is built here.
    if (next.length > MAX_REFERENCE_CHAIN) throw invalid('the session reference chain is too long');
    const cacheKey = `${sessionHash}\n${next.join(' ')}\n${audience}\n${route}`;
    const hit = recent.get(cacheKey);
    if (hit !== undefined) return hit;
    const exp = Math.floor(now() / 1000) + lifetime;
    const head = [
      VERSION,
      key.id,
      Buffer.from(audience).toString('base64url'),
      Buffer.from(route).toString('base64url'),
      exp,
      Buffer.from(next.join(' ')).toString('base64url'),
    ].join('.');
    const reference = `${head}.${key.box.seal(sessionHash, head)}`;
    recent.set(cacheKey, reference, exp - lifetime / 2);
    return reference;
  }

  function open(reference: string, route: string): OpenedReference {
    if (typeof reference !== 'string' || reference.length > maxReferenceLength) throw invalid();
    const parts = reference.split('.');
    if (parts.length !== 7 || parts[0] !== VERSION || !parts.every((p) => part.test(p))) throw invalid();
    const [, keyId, audPart, routePart, expPart, chainPart, sealedPart] = parts as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    // The minter names the key: read before the tag checks, and only to pick the key that checks it.
    const chain = Buffer.from(chainPart, 'base64url').toString('utf8').split(' ');
    if (chain.length > MAX_REFERENCE_CHAIN || !chain.every((name) => nameShape.test(name))) throw invalid();
    const from = chain[chain.length - 1] as string;
    const box = opening.get(from)?.get(keyId);
    if (box === undefined) {
      throw invalid(
        opening.has(from)
          ? 'the session reference was made with a key this service no longer accepts'
          : 'the session reference comes from a caller this service does not accept',
      );
    }
    // A wrong tag (forged, altered, made with another edge's key) opens to nothing.
    const opened = box.open(sealedPart, reference.slice(0, reference.length - sealedPart.length - 1));
    if (opened === undefined) throw invalid();
    const sessionHash = opened.toString('utf8');
    if (!hashShape.test(sessionHash) || !/^[1-9][0-9]{0,11}$/.test(expPart)) throw invalid();
    const expiresAt = Number(expPart);
    if (expiresAt * 1000 <= now()) throw new ResourceError('ERR_SESSION_REFERENCE_EXPIRED');
    const boundAudience = Buffer.from(audPart, 'base64url').toString('utf8');
    const boundRoute = Buffer.from(routePart, 'base64url').toString('utf8');
    if (boundAudience !== self || boundRoute !== route) {
      throw invalid('the session reference is meant for another service or route');
    }
    return Object.freeze({
      sessionHash,
      audience: boundAudience,
      route: boundRoute,
      chain: Object.freeze(chain),
      expiresAt,
    });
  }

  return Object.freeze({ self, lifetime, mint, open });
}
