import { SpanKind } from '@opentelemetry/api';
import { type DpopProofSigner, keptDpopNonce } from '../dpop/signer.js';
import { isOAuthErrorCode } from '../oauth-syntax.js';
import { inSpan, withTraceHeaders } from '../tracing.js';
import { basicAuthorization } from './basic-auth.js';
import { type OutboundRequest, outboundRequest } from './outbound.js';

/** An access token a token endpoint issued. */
export interface IssuedToken {
  readonly token: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/**
 * What binds a client's tokens to its key (RFC 9449 5): the signer of the proof every token
 * request carries, and the last `DPoP-Nonce` the token service handed out (8), sent in the next.
 */
export interface TokenRequestProofs {
  readonly signer: DpopProofSigner;
  nonce: string | undefined;
}

export interface TokenEndpointOptions {
  readonly url: string;
  readonly clientId: string;
  /**
   * `client_secret_basic`. Absent: `client_id` goes in the form, for a public client or one whose
   * certificate (in `dispatcher`, RFC 8705 2) authenticates it.
   */
  readonly clientSecret?: string;
  readonly dispatcher?: OutboundRequest['dispatcher'];
  readonly timeout: number;
  readonly now: () => number;
  /** Set: every request carries a proof, and only a DPoP-bound answer is taken. */
  readonly dpop?: TokenRequestProofs;
  /**
   * The error each failure is thrown as (the caller's family and code); `message` never carries a
   * secret, `cause` is the outbound client's error when the service could not be reached.
   */
  readonly failure: (message: string, cause?: unknown) => Error;
}

interface TokenAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/**
 * One POST to the token endpoint (any grant: `form` is its parameters); the access token and its
 * expiry, or `options.failure`. A span of its own, its traceparent sent on.
 */
export async function requestToken(
  options: TokenEndpointOptions,
  form: Record<string, string>,
): Promise<IssuedToken> {
  return inSpan(
    'tessera.token_request',
    { 'tessera.grant_type': form.grant_type ?? '', 'tessera.audience': form.audience ?? '' },
    () => requestTokenOnce(options, form),
    SpanKind.CLIENT,
  );
}

/** One POST; a `use_dpop_nonce` answer (RFC 9449 8) is retried once with the nonce it carries. */
async function requestTokenOnce(
  options: TokenEndpointOptions,
  form: Record<string, string>,
): Promise<IssuedToken> {
  const startedAt = options.now();
  let answer = await post(options, form);
  if (options.dpop !== undefined && answer.status === 400 && answer.body.error === 'use_dpop_nonce') {
    answer = await post(options, form);
  }
  const { status, body } = answer;
  if (status !== 200) {
    // The OAuth error code (RFC 6749 5.2) is safe to pass on; its description stays out.
    const oauthError = isOAuthErrorCode(body.error) ? body.error : 'unknown';
    throw options.failure(`the token service answered ${status} ${oauthError}`);
  }
  const { access_token: token, expires_in: expiresIn, token_type: tokenType } = body;
  if (typeof token !== 'string' || token.length === 0 || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
    throw options.failure('the token service answered without a usable token');
  }
  // A client that proves its key sends its tokens under DPoP only: a bearer answer would be sent
  // as a bound token and refused at every hop, so it is refused here, where the cause is visible.
  if (options.dpop !== undefined && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'dpop')) {
    throw options.failure('the token service answered an unbound token to a DPoP proof');
  }
  return { token, expiresAt: startedAt + expiresIn * 1000 };
}

async function post(options: TokenEndpointOptions, form: Record<string, string>): Promise<TokenAnswer> {
  const { dpop } = options;
  let status: number;
  let text: string;
  try {
    const answer = await outboundRequest(options.url, {
      method: 'POST',
      headers: withTraceHeaders({
        ...(options.clientSecret === undefined
          ? {}
          : { authorization: basicAuthorization(options.clientId, options.clientSecret) }),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        ...(dpop === undefined
          ? {}
          : {
              dpop: dpop.signer.proof({
                method: 'POST',
                url: options.url,
                ...(dpop.nonce === undefined ? {} : { nonce: dpop.nonce }),
              }),
            }),
      }),
      body: new URLSearchParams(
        options.clientSecret === undefined ? { ...form, client_id: options.clientId } : form,
      ).toString(),
      timeout: options.timeout,
      maxBodyBytes: 64 * 1024,
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    });
    status = answer.status;
    text = answer.text();
    const nonce = keptDpopNonce(answer.headers.get('dpop-nonce'));
    if (dpop !== undefined && nonce !== undefined) dpop.nonce = nonce;
  } catch (error) {
    throw options.failure('the token service could not be reached', error);
  }
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: reported by status.
  }
  return { status, body };
}
