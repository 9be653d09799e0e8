import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { jwtVerify } from 'jose';
import type { ServiceContext } from '../context.js';
import { methodNotAllowed } from '../lib/method-not-allowed.js';
import { ownKeyResolver } from '../lib/own-jwt.js';
import { isAccessTokenRevoked } from '../lib/revocation.js';
import { claimsForScopes } from '../lib/user-claims.js';

// OpenID Connect Core 5.3 with RFC 6750 errors: a Bearer access token of this issuer with the
// `openid` scope; the claims its scopes release.

const REALM = 'realm="tessera"';
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function challenge(
  reply: FastifyReply,
  status: 401 | 403,
  error?: 'invalid_token' | 'insufficient_scope' | 'invalid_request',
  description?: string,
) {
  const parts = [REALM];
  if (error !== undefined) parts.push(`error="${error}"`);
  if (description !== undefined) parts.push(`error_description="${description}"`);
  if (error === 'insufficient_scope') parts.push('scope="openid"');
  reply.header('www-authenticate', `Bearer ${parts.join(', ')}`);
  return reply
    .code(error === 'invalid_request' ? 400 : status)
    .type('application/json; charset=utf-8')
    .send(
      error === undefined
        ? {}
        : { error, ...(description === undefined ? {} : { error_description: description }) },
    );
}

async function userinfo(
  ctx: ServiceContext,
  keys: ReturnType<typeof ownKeyResolver>,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const authorization = request.headers.authorization;
  // RFC 6750 3.1: no credentials -> 401 without an error code.
  if (authorization === undefined) return challenge(reply, 401);
  const match = /^bearer +(\S+)$/i.exec(authorization);
  if (match === null || !B64TOKEN.test(match[1] as string) || (match[1] as string).length > 8192) {
    return challenge(reply, 401, 'invalid_token', 'malformed bearer token');
  }
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(match[1] as string, keys(), {
      issuer: ctx.issuer,
      typ: 'at+jwt',
      algorithms: ['EdDSA', 'ES256'],
      requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id'],
      currentDate: new Date(ctx.now()),
      clockTolerance: 30,
    }));
  } catch {
    return challenge(reply, 401, 'invalid_token', 'the access token is invalid or expired');
  }
  if (await isAccessTokenRevoked(ctx, payload.jti as string)) {
    return challenge(reply, 401, 'invalid_token', 'the access token was revoked');
  }
  const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
  if (!scopes.includes('openid'))
    return challenge(reply, 403, 'insufficient_scope', 'the openid scope is required');
  const user = await ctx.users.findById(payload.sub as string);
  if (user === null || user.disabled)
    return challenge(reply, 401, 'invalid_token', 'the user is no longer active');
  return reply.send({ ...claimsForScopes(user, scopes), sub: user.id });
}

export function registerUserinfo(app: FastifyInstance, ctx: ServiceContext): void {
  const keys = ownKeyResolver(() => ctx.keys.keySet);
  app.get('/userinfo', (request, reply) => userinfo(ctx, keys, request, reply));
  app.post('/userinfo', (request, reply) => userinfo(ctx, keys, request, reply));
  methodNotAllowed(app, '/userinfo', ['GET', 'POST']);
}
