import { SpanKind } from '@opentelemetry/api';
import {
  basicAuthorization,
  inSpan,
  isOAuthErrorCode,
  type OutboundRequest,
  outboundRequest,
  withTraceHeaders,
} from '@tessera/core';
import { ResourceError } from '../errors.js';

export interface IssuedToken {
  readonly token: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

export interface TokenEndpointOptions {
  readonly url: string;
  readonly clientId: string;
  /** Absent: RFC 8705 2, the client's certificate (in `dispatcher`) authenticates it. */
  readonly clientSecret?: string;
  readonly dispatcher?: OutboundRequest['dispatcher'];
  readonly timeout: number;
  readonly now: () => number;
}

/** One POST to the token endpoint; the access token and its expiry, or ERR_UPSTREAM_TOKEN_FAILED. */
export async function requestToken(
  options: TokenEndpointOptions,
  form: Record<string, string>,
): Promise<IssuedToken> {
  // A span of its own (the token exchange, or a client_credentials token), its traceparent sent on.
  return inSpan(
    'tessera.token_request',
    { 'tessera.grant_type': form.grant_type ?? '', 'tessera.audience': form.audience ?? '' },
    () => requestTokenOnce(options, form),
    SpanKind.CLIENT,
  );
}

async function requestTokenOnce(
  options: TokenEndpointOptions,
  form: Record<string, string>,
): Promise<IssuedToken> {
  const startedAt = options.now();
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
  } catch (error) {
    throw new ResourceError('ERR_UPSTREAM_TOKEN_FAILED', 'the token service could not be reached', {
      cause: error,
    });
  }
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: reported below by status.
  }
  if (status !== 200) {
    // The OAuth error code (RFC 6749 5.2) is safe to pass on; its description stays out.
    const oauthError = isOAuthErrorCode(body.error) ? body.error : 'unknown';
    throw new ResourceError(
      'ERR_UPSTREAM_TOKEN_FAILED',
      `the token service answered ${status} ${oauthError}`,
    );
  }
  const { access_token: token, expires_in: expiresIn } = body;
  if (typeof token !== 'string' || token.length === 0 || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
    throw new ResourceError('ERR_UPSTREAM_TOKEN_FAILED', 'the token service answered without a usable token');
  }
  return { token, expiresAt: startedAt + expiresIn * 1000 };
}
