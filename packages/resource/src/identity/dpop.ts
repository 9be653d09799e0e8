import {
  AuthError,
  checkDpopBinding,
  createDpopProofVerifier,
  DpopNonces,
  type DpopReplayStore,
  inSpan,
  refuseBoundBearer,
  type SigningAlgorithm,
  TesseraTypeError,
} from '@tessera/core';
import type { Verifier } from '../verify/verifier.js';
import { BearerCredential } from './bearer-credential.js';
import { checkBearerRequest, credentialsOf } from './bearer-header.js';
import type { Authenticated, IdentitySource, RequestLike } from './types.js';

export interface DpopSourceOptions {
  /**
   * Where each proof's `jti` is recorded for the window (a `KeyValueStore`): give every instance
   * of the service the same one (Redis), so a proof replayed at another instance is refused too.
   */
  readonly replay: DpopReplayStore;
  /** Algorithms a proof may be signed with. Default EdDSA and ES256; RS256 when named. */
  readonly algorithms?: readonly SigningAlgorithm[];
  /** Seconds a proof's `iat` may lie before or after now. Default 60. */
  readonly window?: number;
  /**
   * The origin clients address this service at (`https://shop.example`): behind the gateway or
   * another proxy, the `htu` of their proofs names it, not this process. Unset: the request's own
   * scheme and `Host`, as the framework reports them (Fastify's `trustProxy`, Express's
   * `trust proxy` decide whether `X-Forwarded-Proto` and `-Host` are believed).
   */
  readonly publicOrigin?: string;
  /** Also take tokens that are not bound, under `Bearer` (bound ones never). Default false. */
  readonly allowBearer?: boolean;
  /**
   * Server nonces (RFC 9449 9): every answer of a protected route carries the current nonce in
   * `DPoP-Nonce`, and a proof without a nonce these nonces accept is refused 401 `use_dpop_nonce`
   * (its jti not used up), so the client signs again with the nonce it was just sent. Give every
   * instance a `DpopNonces` over the same secret: they then agree with no store. Default: none.
   */
  readonly nonce?: DpopNonces;
}

function misuse(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_OPTION', message);
}

function checkOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw misuse('publicOrigin must be an origin such as https://shop.example');
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== origin.replace(/\/$/, '')) {
    throw misuse('publicOrigin must be an origin: scheme, host and port only');
  }
  return url.origin;
}

/** The path and query of a request target (absolute-form targets included). */
function targetPath(url: string | undefined): string {
  if (url === undefined || url === '') return '/';
  if (url.startsWith('/')) return url;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return '/';
  }
}

/**
 * The `dpop` identity source (RFC 9449 7): `Authorization: DPoP <token>` with one `DPoP` proof
 * for this method, this URL and this token, signed by the key the token is bound to (`cnf.jkt`).
 * The token is verified as `bearer` verifies it (the verified-token cache included); the proof is
 * checked on every request, cached token or not, and its `jti` recorded in `replay`. A bound token
 * under `Bearer` is refused; an unbound one only with `allowBearer`. Every refusal challenges with
 * `DPoP algs="..."`. With `nonce`, every answer carries `DPoP-Nonce` and a proof must carry one.
 */
export function dpop(verifier: Verifier, options: DpopSourceOptions): IdentitySource {
  if (typeof options !== 'object' || options === null) throw misuse('options are required');
  const publicOrigin = options.publicOrigin === undefined ? undefined : checkOrigin(options.publicOrigin);
  const allowBearer = options.allowBearer ?? false;
  const { nonce } = options;
  if (nonce !== undefined && !(nonce instanceof DpopNonces)) {
    throw misuse('nonce must be a DpopNonces (from @tessera/core)');
  }
  const acceptsNonce = nonce === undefined ? undefined : (value: string) => nonce.accepts(value);
  const proofs = createDpopProofVerifier({
    replay: options.replay,
    ...(options.algorithms === undefined ? {} : { algorithms: options.algorithms }),
    ...(options.window === undefined ? {} : { window: options.window }),
  });
  const { jwks } = verifier;

  function urlOf(request: RequestLike): string {
    const origin = publicOrigin ?? request.origin;
    if (origin === undefined) {
      throw misuse('the dpop source needs publicOrigin, or an adapter that reports the request origin');
    }
    return `${origin}${targetPath(request.url)}`;
  }

  async function authenticate(request: RequestLike): Promise<Authenticated> {
    checkBearerRequest(request);
    const { scheme, token } = credentialsOf(request.headers.authorization, ['bearer', 'dpop']);
    const principal = await verifier.verify(token);
    if (scheme === 'bearer') {
      refuseBoundBearer(principal, request.socket);
      if (!allowBearer) throw new AuthError('ERR_AUTH_REQUIRED', 'this service takes DPoP-bound tokens only');
      return { principal, credential: new BearerCredential(token) };
    }
    const proof = await proofs.verify({
      proof: request.headers.dpop,
      method: request.method ?? 'GET',
      url: urlOf(request),
      accessToken: token,
      ...(acceptsNonce === undefined ? {} : { acceptsNonce }),
    });
    checkDpopBinding(principal, proof);
    return { principal, credential: new BearerCredential(token) };
  }

  return Object.freeze({
    scheme: 'DPoP',
    challenge: `algs="${proofs.algorithms.join(' ')}"`,
    readiness: Object.freeze({
      'signing keys': jwks === undefined ? async () => {} : () => jwks.ensureKeys(),
    }),
    authenticate(request: RequestLike): Promise<Authenticated> {
      return inSpan('tessera.verify_token', {}, () => authenticate(request));
    },
    ...(nonce === undefined ? {} : { answerHeaders: () => ({ 'dpop-nonce': nonce.current() }) }),
  });
}
