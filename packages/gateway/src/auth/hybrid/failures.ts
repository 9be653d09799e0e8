import * as oidc from 'openid-client';
import { GatewayError } from '../../errors.js';

/** Why the token service refused a grant: `invalid_grant` ends the session, anything else is an outage. */
export class GrantRefused extends Error {
  readonly oauthError: string;
  constructor(oauthError: string) {
    super(`the token service refused the grant: ${oauthError}`);
    this.name = 'GrantRefused';
    this.oauthError = oauthError;
  }
}

// openid-client's failures that mean no usable answer came, rather than a wrong one.
const outageCodes = new Set([
  'OAUTH_RESPONSE_IS_NOT_CONFORM',
  'OAUTH_RESPONSE_IS_NOT_JSON',
  'OAUTH_TIMEOUT',
  'OAUTH_ABORT',
  'OAUTH_HTTP_REQUEST_FORBIDDEN',
  'OAUTH_REQUEST_PROTOCOL_FORBIDDEN',
]);

/** A sign-in (or a refresh's ID token) that fails a check; the message is shown to the user. */
export function signInFailed(message: string): GatewayError {
  return new GatewayError('ERR_SIGN_IN_FAILED', message, { expose: true });
}

export function unavailable(reason: string): GatewayError {
  return new GatewayError('ERR_TOKEN_SERVICE_UNAVAILABLE', undefined, { cause: new Error(reason) });
}

/** A failed discovery: whatever went wrong, the token service gave no usable metadata. */
export function discoveryFailure(error: unknown): GatewayError {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof GatewayError) return cause;
  const code = (error as { code?: unknown }).code;
  return unavailable(`discovery failed (${typeof code === 'string' ? code : 'unknown'})`);
}

/**
 * openid-client's failure as the gateway answers it. Its errors carry the token answer (tokens),
 * the callback's query (the code) or the metadata as `cause`: none of it goes on, only a code.
 */
export function gatewayFailure(error: unknown): Error {
  const cause = (error as { cause?: unknown }).cause;
  if (error instanceof GatewayError) return error;
  // The bounded fetch's own, wrapped by openid-client.
  if (cause instanceof GatewayError) return cause;
  if (error instanceof oidc.ResponseBodyError || error instanceof oidc.WWWAuthenticateChallengeError) {
    const oauthError =
      error instanceof oidc.ResponseBodyError
        ? error.error
        : (error.cause[0]?.parameters.error ?? 'invalid_client');
    // 400/401 with an OAuth error code is the token service saying no; anything else is an outage.
    if ((error.status === 400 || error.status === 401) && /^[\x20-\x7E]{1,64}$/.test(oauthError))
      return new GrantRefused(oauthError);
    return unavailable(`the token endpoint answered ${error.status}`);
  }
  if (error instanceof oidc.AuthorizationResponseError) {
    const code = /^[a-z_]{1,64}$/.test(error.error) ? error.error : 'unknown';
    // access_denied: the user pressed Cancel at the token service's login or consent page.
    return signInFailed(
      code === 'access_denied'
        ? 'the sign-in was cancelled at the token service (access_denied)'
        : `the token service answered ${code}`,
    );
  }
  if (!(error instanceof oidc.ClientError))
    return error instanceof Error ? error : new Error('unknown failure');
  const code = error.code ?? 'unknown';
  if (outageCodes.has(code)) return unavailable(code);
  // A token answer without a usable token was refused on arrival (`usableTokenAnswer`): what is
  // left is the callback (state, iss, a repeated parameter) or the ID token (claims, alg, format).
  const claim = (cause as { cause?: { claim?: unknown } } | undefined)?.cause?.claim;
  const check = typeof claim === 'string' && /^[a-z_]{1,32}$/.test(claim) ? `${code}: ${claim}` : code;
  return signInFailed(`the token service's answer failed the checks (${check})`);
}

/**
 * Whether a token endpoint's 200 answer holds a token the gateway can use: of the type it asked
 * for (`bearer`, or `dpop` when it sent a proof: a bearer answer then would go upstream unbound).
 */
export function usableTokenAnswer(text: string, tokenType: 'bearer' | 'dpop' = 'bearer'): boolean {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return false;
  }
  const { access_token, token_type, expires_in } = (body ?? {}) as Record<string, unknown>;
  return (
    typeof access_token === 'string' &&
    access_token.length > 0 &&
    typeof token_type === 'string' &&
    token_type.toLowerCase() === tokenType &&
    typeof expires_in === 'number' &&
    expires_in > 0
  );
}
