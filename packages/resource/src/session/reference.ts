import { SealedBox, TesseraTypeError } from '@tessera/core';
import { ResourceError } from '../errors.js';

/**
 * A session reference: what the gateway sends a backend in session mode instead of the cookie.
 *
 *   v2.<audience>.<route>.<exp>.<sealed id>      (each part base64url, exp in epoch seconds)
 *
 * - `audience` names the one service it is for, `route` the `METHOD /path` of the one call, so a
 *   reference replayed at another service or route is refused (SECURITY-CASES G 92);
 * - `exp` is a few seconds ahead: a leaked reference is useless almost at once;
 * - the session id is sealed with AES-256-GCM under a key derived (HKDF) from the secret the
 *   gateway and the services share, with everything before it as additional authenticated data:
 *   one operation both hides the id (a backend log holds nothing a browser could use as a cookie)
 *   and authenticates the whole reference, so nothing is read or trusted before the tag checks.
 *   (v1 added an HMAC-SHA-256 over the same bytes: a second MAC for nothing; the two cost a
 *   session-mode gateway about 18 us a request.)
 */
export interface SessionReferenceOptions {
  /** The secret shared by the gateway and the services: at least 32 bytes. */
  readonly secret: string | Uint8Array;
  /** Seconds a reference lives. Default 30. */
  readonly lifetime?: number;
  /** Clock in epoch ms. */
  readonly now?: () => number;
}

export interface OpenedReference {
  readonly sessionId: string;
  readonly audience: string;
  readonly route: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

export interface SessionReferences {
  readonly lifetime: number;
  /** A reference to `sessionId` for one call of `route` at `audience`. */
  sign(sessionId: string, audience: string, route: string): string;
  /** The reference's content when it is genuine, unexpired and meant for `audience` and `route`. */
  open(reference: string, audience: string, route: string): OpenedReference;
}

const VERSION = 'v2';
const recentReferences = 4096;
const maxReferenceLength = 2048;
const part = /^[A-Za-z0-9_-]*$/;

function invalid(): ResourceError {
  return new ResourceError('ERR_SESSION_REFERENCE_INVALID');
}

export function createSessionReferences(options: SessionReferenceOptions): SessionReferences {
  const secret =
    typeof options.secret === 'string'
      ? Buffer.from(options.secret, 'utf8')
      : Buffer.from(options.secret ?? []);
  if (secret.length < 32)
    throw new TesseraTypeError('ERR_INVALID_OPTION', 'secret must be at least 32 bytes');
  const lifetime = options.lifetime ?? 30;
  if (!Number.isSafeInteger(lifetime) || lifetime <= 0 || lifetime > 300) {
    throw new TesseraTypeError('ERR_INVALID_OPTION', 'lifetime must be 1 to 300 seconds');
  }
  const now = options.now ?? Date.now;
  const box = SealedBox.fromSecret(secret, 'tessera session reference v2');

  // A session calling the same route again soon gets the reference it got last time while at least
  // half its lifetime is left: the same credential, just not sealed again (the seal was most of a
  // session-mode gateway request's crypto). Bounded, and cleared when full, like the header cache.
  const recent = new Map<string, { readonly reference: string; readonly exp: number }>();

  function sign(sessionId: string, audience: string, route: string): string {
    const key = `${sessionId}\n${audience}\n${route}`;
    const nowSeconds = now() / 1000;
    const hit = recent.get(key);
    if (hit !== undefined && hit.exp - nowSeconds > lifetime / 2) return hit.reference;
    const reference = seal(sessionId, audience, route, Math.floor(nowSeconds) + lifetime);
    if (recent.size >= recentReferences) recent.clear();
    recent.set(key, { reference, exp: Math.floor(nowSeconds) + lifetime });
    return reference;
  }

  function seal(sessionId: string, audience: string, route: string, exp: number): string {
    const head = `${VERSION}.${Buffer.from(audience).toString('base64url')}.${Buffer.from(route).toString('base64url')}.${exp}`;
    return `${head}.${box.seal(sessionId, head)}`;
  }

  function open(reference: string, audience: string, route: string): OpenedReference {
    if (typeof reference !== 'string' || reference.length > maxReferenceLength) throw invalid();
    const parts = reference.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION || !parts.every((p) => part.test(p))) throw invalid();
    const [, audPart, routePart, expPart, sealedPart] = parts as [string, string, string, string, string];
    // A wrong tag (forged, altered, or made with another secret) opens to nothing.
    const opened = box.open(sealedPart, reference.slice(0, reference.length - sealedPart.length - 1));
    if (opened === undefined || opened.length === 0) throw invalid();
    const sessionId = opened.toString('utf8');
    if (!/^[1-9][0-9]{0,11}$/.test(expPart)) throw invalid();
    const expiresAt = Number(expPart);
    if (expiresAt * 1000 <= now()) throw new ResourceError('ERR_SESSION_REFERENCE_EXPIRED');
    const boundAudience = Buffer.from(audPart, 'base64url').toString('utf8');
    const boundRoute = Buffer.from(routePart, 'base64url').toString('utf8');
    if (boundAudience !== audience || boundRoute !== route) {
      throw new ResourceError(
        'ERR_SESSION_REFERENCE_INVALID',
        'the session reference is meant for another service or route',
      );
    }
    return { sessionId, audience: boundAudience, route: boundRoute, expiresAt };
  }

  return Object.freeze({ lifetime, sign, open });
}
