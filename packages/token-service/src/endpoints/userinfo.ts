import {
  AuthError,
  answerFor,
  type BearerProtocol,
  DpopError,
  sendAnswer,
  TokenError,
  type TokenErrorCode,
  tokenErrorCodes,
} from '@tessera/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../context.js';
import { FormBody } from '../lib/form-body.js';
import { methodNotAllowed } from '../lib/method-not-allowed.js';
import { verifyOwnAccessToken } from '../lib/own-access-token.js';
import { claimsForScopes } from '../lib/user-claims.js';

// OpenID Connect Core 5.3 with RFC 6750 errors: a Bearer access token of this issuer with the
// `openid` scope; the claims its scopes release. A DPoP-bound token comes under the `DPoP` scheme
// with a proof for this request (RFC 9449 7), never as a bearer token. The token is checked by
// core's verifier, the one every Tessera access token is checked by (introspection, exchange,
// resource servers), so no spelling of a token passes here that is refused there.

// RFC 6750 3 challenges, in the realm the service names itself by.
const protocol: BearerProtocol = Object.freeze({ scheme: 'Bearer', realm: 'tessera' });
// RFC 6750 2.1 b64token; the verifier then refuses anything that is not a canonical compact JWS.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 8192;

function refuse(reply: FastifyReply, error: AuthError | TokenError) {
  return sendAnswer(reply, answerFor(error, protocol));
}

/** RFC 9449 7.1: a DPoP refusal, with the algorithms a proof may use, answered as every refusal is. */
function dpopChallenge(ctx: ServiceContext, reply: FastifyReply, error: DpopError) {
  const parameters = `algs="${ctx.dpop.algorithms.join(' ')}"`;
  return sendAnswer(reply, answerFor(error, { scheme: 'DPoP', realm: 'tessera', parameters }));
}

/** Where the request put its access token, or why it cannot be taken. */
type Presented =
  | { readonly kind: 'token'; readonly token: string; readonly scheme: 'Bearer' | 'DPoP' }
  | { readonly kind: 'none' }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'refused'; readonly description: string };

function countAuthorization(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === 'authorization') count++;
  }
  return count;
}

function hasQueryToken(url: string): boolean {
  const q = url.indexOf('?');
  return q >= 0 && new URLSearchParams(url.slice(q + 1)).has('access_token');
}

/**
 * RFC 6750: the token in the one Authorization header (2.1) or, on a POST with a form body, in its
 * one `access_token` field (2.2); never both (3.1: more than one method is invalid_request), never
 * in the query string (2.3 is not supported: a token in a URL ends up in logs).
 */
function presentedToken(request: FastifyRequest): Presented {
  if (hasQueryToken(request.url)) {
    return { kind: 'refused', description: 'an access token in the URL is not accepted' };
  }
  if (countAuthorization(request.raw.rawHeaders) > 1) {
    return { kind: 'refused', description: 'more than one Authorization header' };
  }
  const body = request.method === 'POST' && request.body instanceof FormBody ? request.body : undefined;
  const inBody = body !== undefined && [...body.names()].includes('access_token');
  const header = request.headers.authorization;
  if (header !== undefined && inBody) {
    return { kind: 'refused', description: 'send the access token in the header or the body, not both' };
  }
  let token: string;
  let scheme: 'Bearer' | 'DPoP' = 'Bearer';
  if (inBody && body !== undefined) {
    if (body.repeated.includes('access_token')) {
      return { kind: 'refused', description: 'parameter access_token must not be repeated' };
    }
    token = body.get('access_token') ?? '';
  } else {
    if (header === undefined) return { kind: 'none' };
    const match = /^(bearer|dpop) +(\S+)$/i.exec(header);
    if (match === null) return { kind: 'malformed' };
    scheme = match[1]?.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
    token = match[2] as string;
  }
  if (!B64TOKEN.test(token) || token.length > MAX_TOKEN_LENGTH) return { kind: 'malformed' };
  return { kind: 'token', token, scheme };
}

/** Why the verifier refused a token, as core's code. */
function refusedCode(reason: 'invalid' | 'expired' | 'audience', code: string | undefined): TokenErrorCode {
  if (reason === 'expired') return 'ERR_JWT_EXPIRED';
  if (reason === 'audience') return 'ERR_JWT_AUDIENCE_INVALID';
  return code !== undefined && code in tokenErrorCodes ? (code as TokenErrorCode) : 'ERR_JWT_MALFORMED';
}

async function userinfo(ctx: ServiceContext, request: FastifyRequest, reply: FastifyReply) {
  const presented = presentedToken(request);
  // RFC 6750 3.1: no credentials -> 401 without an error code.
  if (presented.kind === 'none') return refuse(reply, new AuthError('ERR_AUTH_REQUIRED', 'no access token'));
  if (presented.kind === 'refused') {
    return refuse(reply, new AuthError('ERR_AUTH_INVALID_REQUEST', presented.description));
  }
  if (presented.kind === 'malformed') {
    return refuse(reply, new TokenError('ERR_JWT_MALFORMED', 'malformed bearer token'));
  }
  const verified = await verifyOwnAccessToken(ctx, presented.token);
  if (!verified.ok) {
    return verified.reason === 'revoked'
      ? refuse(reply, new TokenError('ERR_TOKEN_REVOKED', 'the access token was revoked'))
      : refuse(
          reply,
          new TokenError(
            refusedCode(verified.reason, verified.code),
            'the access token is invalid or expired',
          ),
        );
  }
  const { principal } = verified;
  try {
    await ctx.dpop.checkResourceRequest(
      request,
      presented.scheme,
      presented.token,
      principal,
      ctx.endpoints.userinfo,
    );
  } catch (error) {
    if (error instanceof DpopError) return dpopChallenge(ctx, reply, error);
    // A certificate-bound token over a connection without its certificate (RFC 8705 3): a
    // Bearer challenge, invalid_token.
    if (error instanceof AuthError) return refuse(reply, error);
    throw error;
  }
  const { scopes } = principal;
  if (!scopes.includes('openid')) {
    return refuse(
      reply,
      new AuthError('ERR_AUTH_INSUFFICIENT_SCOPE', 'the openid scope is required', { scope: ['openid'] }),
    );
  }
  const user = await ctx.users.findById(principal.subject);
  if (user === null || user.disabled) {
    return refuse(reply, new TokenError('ERR_TOKEN_REVOKED', 'the user is no longer active'));
  }
  return reply.send({ ...claimsForScopes(user, scopes), sub: user.id });
}

export function registerUserinfo(app: FastifyInstance, ctx: ServiceContext): void {
  app.get('/userinfo', (request, reply) => userinfo(ctx, request, reply));
  app.post('/userinfo', (request, reply) => userinfo(ctx, request, reply));
  methodNotAllowed(app, '/userinfo', ['GET', 'POST']);
}
