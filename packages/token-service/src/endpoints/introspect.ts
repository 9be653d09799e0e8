import type { Principal, TokenBinding } from '@tessera/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../context.js';
import { type AuthenticatedClient, authenticateClient } from '../lib/client-auth/index.js';
import { type FormBody, rejectRepeatedParameters, requireFormBody } from '../lib/form-body.js';
import { postEndpoint } from '../lib/method-not-allowed.js';
import { invalidClient, invalidRequest } from '../lib/oauth-error.js';
import { looksLikeJwt, verifyOwnAccessToken } from '../lib/own-access-token.js';
import { hashToken, type RefreshTokenRecord } from '../store/grants.js';

/** RFC 7662 2.2: the answer for anything that is not an active token this client may see. */
const INACTIVE = Object.freeze({ active: false });

type IntrospectionResponse = Readonly<Record<string, unknown>>;

/**
 * Who may learn about an access token: the client it was issued to (`client_id`), and any client
 * named in its `aud` (a resource server checking what it was sent). Anyone else is told
 * `active: false`, exactly as for garbage, so introspection is no oracle for other clients' tokens.
 */
function mayIntrospectAccessToken(principal: Principal, clientId: string): boolean {
  return principal.clientId === clientId || principal.audience.includes(clientId);
}

function confirmationOf(binding: TokenBinding): Record<string, string> {
  return binding.type === 'dpop' ? { jkt: binding.jkt } : { 'x5t#S256': binding.x5tS256 };
}

function accessTokenResponse(principal: Principal): IntrospectionResponse {
  const { claims } = principal;
  return {
    active: true,
    ...(typeof claims.scope === 'string' ? { scope: claims.scope } : {}),
    client_id: principal.clientId,
    sub: principal.subject,
    aud: claims.aud,
    iss: principal.issuer,
    exp: principal.expiresAt,
    iat: principal.issuedAt,
    jti: principal.tokenId,
    // RFC 9449 6.2, RFC 8705 3.2: a bound token is introspected with its confirmation, so a
    // resource server that introspects can check the proof's key or the connection's certificate
    // as one that verifies the JWT would. A certificate-bound token is still sent as `Bearer`.
    token_type: principal.binding?.type === 'dpop' ? 'DPoP' : 'Bearer',
    ...(principal.binding === undefined ? {} : { cnf: confirmationOf(principal.binding) }),
    ...(principal.authTime === undefined ? {} : { auth_time: principal.authTime }),
    ...(principal.sessionId === undefined ? {} : { sid: principal.sessionId }),
    ...(claims.act === undefined ? {} : { act: claims.act }),
  };
}

/** A refresh token is active while it is unrotated, within its idle lifetime, and its grant is live. */
function refreshTokenActive(record: RefreshTokenRecord, now: number): boolean {
  const { grant } = record;
  return (
    record.rotatedAt === undefined &&
    record.expiresAt > now &&
    grant.revokedAt === undefined &&
    grant.expiresAt > now
  );
}

function refreshTokenResponse(record: RefreshTokenRecord): IntrospectionResponse {
  const { grant } = record;
  return {
    active: true,
    ...(grant.scopes.length > 0 ? { scope: grant.scopes.join(' ') } : {}),
    client_id: grant.clientId,
    sub: grant.userId,
    exp: Math.floor(Math.min(record.expiresAt, grant.expiresAt) / 1000),
    auth_time: grant.authTime,
    ...(grant.sid === undefined ? {} : { sid: grant.sid }),
    ...(record.binding.dpopJkt === undefined ? {} : { cnf: { jkt: record.binding.dpopJkt } }),
    ...(record.binding.x5tS256 === undefined ? {} : { cnf: { 'x5t#S256': record.binding.x5tS256 } }),
  };
}

/** The RFC 7662 lookup: an access token by its shape (a JWS), else a refresh token by its hash. */
async function introspect(
  ctx: ServiceContext,
  token: string,
  client: AuthenticatedClient,
): Promise<IntrospectionResponse> {
  const clientId = client.client.client_id;
  if (looksLikeJwt(token)) {
    const verified = await verifyOwnAccessToken(ctx, token);
    if (!verified.ok || !mayIntrospectAccessToken(verified.principal, clientId)) return INACTIVE;
    return accessTokenResponse(verified.principal);
  }
  if (token.length > 512) return INACTIVE;
  const record = await ctx.grants.findByRefreshToken(hashToken(token));
  // Only the client a refresh token was issued to may see it (it is useless to anyone else).
  if (record === undefined || record.grant.clientId !== clientId || !refreshTokenActive(record, ctx.now())) {
    return INACTIVE;
  }
  return refreshTokenResponse(record);
}

/**
 * POST /introspect (RFC 7662). The caller must be an authenticated confidential client (401
 * invalid_client otherwise: 2.1); `token` is required (400 invalid_request); `token_type_hint` is
 * accepted and ignored, since the two kinds of token are told apart by their shape. Every token
 * that is not active, or not the caller's to see, is 200 `{"active":false}` and nothing else.
 */
async function introspectionEndpoint(
  ctx: ServiceContext,
  request: FastifyRequest,
): Promise<IntrospectionResponse> {
  const form: FormBody = requireFormBody(request.body);
  rejectRepeatedParameters(form);
  const client = await authenticateClient(ctx, request, form);
  if (client.method === 'none') throw invalidClient('introspection needs client authentication');
  const token = form.get('token');
  if (token === undefined) throw invalidRequest('token is required');
  return introspect(ctx, token, client);
}

export function registerIntrospection(app: FastifyInstance, ctx: ServiceContext): void {
  postEndpoint(app, ctx, '/introspect', introspectionEndpoint);
}
