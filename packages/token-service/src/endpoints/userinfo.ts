import { DpopError } from '@tessera/core';
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

const REALM = 'realm="tessera"';
// RFC 6750 2.1 b64token; the verifier then refuses anything that is not a canonical compact JWS.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 8192;

type ChallengeError = 'invalid_token' | 'insufficient_scope' | 'invalid_request';

function challenge(
  reply: FastifyReply,
  status: 400 | 401 | 403,
  error?: ChallengeError,
  description?: string,
) {
  const parts = [REALM];
  if (error !== undefined) parts.push(`error="${error}"`);
  if (description !== undefined) parts.push(`error_description="${description}"`);
  if (error === 'insufficient_scope') parts.push('scope="openid"');
  reply.header('www-authenticate', `Bearer ${parts.join(', ')}`);
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send(
      error === undefined
        ? {}
        : { error, ...(description === undefined ? {} : { error_description: description }) },
    );
}

/** RFC 9449 7.1: a DPoP refusal, with the algorithms a proof may use. */
function dpopChallenge(ctx: ServiceContext, reply: FastifyReply, error: DpopError) {
  const algs = ctx.dpop.algorithms.join(' ');
  reply.header(
    'www-authenticate',
    `DPoP ${REALM}, algs="${algs}", error="${error.oauthError}", error_description="${error.message}"`,
  );
  return reply
    .code(401)
    .type('application/json; charset=utf-8')
    .send({ error: error.oauthError, error_description: error.message });
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
    // RFC 6750 3.1: no credentials -> 401 without an error code.
    if (header === undefined) return { kind: 'none' };
    const match = /^(bearer|dpop) +(\S+)$/i.exec(header);
    if (match === null) return { kind: 'malformed' };
    scheme = match[1]?.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
    token = match[2] as string;
  }
  if (!B64TOKEN.test(token) || token.length > MAX_TOKEN_LENGTH) return { kind: 'malformed' };
  return { kind: 'token', token, scheme };
}

async function userinfo(ctx: ServiceContext, request: FastifyRequest, reply: FastifyReply) {
  const presented = presentedToken(request);
  if (presented.kind === 'none') return challenge(reply, 401);
  if (presented.kind === 'refused') return challenge(reply, 400, 'invalid_request', presented.description);
  if (presented.kind === 'malformed') return challenge(reply, 401, 'invalid_token', 'malformed bearer token');
  const verified = await verifyOwnAccessToken(ctx, presented.token);
  if (!verified.ok) {
    return verified.reason === 'revoked'
      ? challenge(reply, 401, 'invalid_token', 'the access token was revoked')
      : challenge(reply, 401, 'invalid_token', 'the access token is invalid or expired');
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
    throw error;
  }
  const { scopes } = principal;
  if (!scopes.includes('openid'))
    return challenge(reply, 403, 'insufficient_scope', 'the openid scope is required');
  const user = await ctx.users.findById(principal.subject);
  if (user === null || user.disabled)
    return challenge(reply, 401, 'invalid_token', 'the user is no longer active');
  return reply.send({ ...claimsForScopes(user, scopes), sub: user.id });
}

export function registerUserinfo(app: FastifyInstance, ctx: ServiceContext): void {
  app.get('/userinfo', (request, reply) => userinfo(ctx, request, reply));
  app.post('/userinfo', (request, reply) => userinfo(ctx, request, reply));
  methodNotAllowed(app, '/userinfo', ['GET', 'POST']);
}
