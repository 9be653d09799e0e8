import { audit, auditing, toTesseraError } from '@tessera/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../context.js';
import { type AuthenticatedClient, authenticateClient } from '../../lib/client-auth/index.js';
import { type FormBody, rejectRepeatedParameters, requireFormBody } from '../../lib/form-body.js';
import { postEndpoint } from '../../lib/method-not-allowed.js';
import { OAuthError } from '../../lib/oauth-error.js';
import { tokenHolderOf } from '../../lib/token-holder.js';
import type { GrantType } from '../../store/client.js';
import { grantHandlers } from './grants/index.js';
import type { GrantHandler, TokenResponse } from './types.js';

// The /token pipeline, one named step per rule of RFC 6749 3.2 and 5, in the order they apply
// (after node-oidc-provider's lib/actions/token.js), so a stack trace reads like the spec.

/** RFC 6749 3.2: the body is a form; RFC 8707/8693 let `resource` and `audience` repeat, nothing else. */
function parseBody(request: FastifyRequest): FormBody {
  const form = requireFormBody(request.body);
  rejectRepeatedParameters(form, ['resource', 'audience']);
  return form;
}

/** RFC 6749 5.2 unsupported_grant_type: unknown, not offered (`password`), or missing. */
function supportedGrantType(form: FormBody): { grantType: GrantType; handler: GrantHandler } {
  const grantType = form.get('grant_type');
  if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
  const handler = grantHandlers.get(grantType as GrantType);
  if (handler === undefined) throw new OAuthError('unsupported_grant_type', 'grant_type is not supported');
  return { grantType: grantType as GrantType, handler };
}

/** RFC 6749 5.2 unauthorized_client: the client did not register this grant. */
function grantRegisteredForClient(authenticated: AuthenticatedClient, grantType: GrantType): void {
  if (!authenticated.client.grant_types.includes(grantType)) {
    throw new OAuthError('unauthorized_client', 'the client is not registered for this grant_type');
  }
}

/**
 * The jti, sub and aud of a token this service just signed, for the audit line (its payload is
 * ours and well formed; nothing here verifies anything).
 */
function accessTokenClaims(token: string): { jti?: string; sub?: string; aud?: string } {
  const payload = token.split('.')[1];
  if (payload === undefined) return {};
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
    const aud = Array.isArray(claims.aud) ? claims.aud.join(' ') : text(claims.aud);
    return {
      ...(text(claims.jti) === undefined ? {} : { jti: text(claims.jti) as string }),
      ...(text(claims.sub) === undefined ? {} : { sub: text(claims.sub) as string }),
      ...(aud === undefined ? {} : { aud }),
    };
  } catch {
    return {};
  }
}

async function tokenEndpoint(
  ctx: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<TokenResponse> {
  let client: AuthenticatedClient | undefined;
  let grant: string | undefined;
  let response: TokenResponse;
  try {
    const form = parseBody(request);
    grant = form.get('grant_type');
    client = await authenticateClient(ctx, request, form);
    const { grantType, handler } = supportedGrantType(form);
    grantRegisteredForClient(client, grantType);
    // Before the grant: a refused proof (or a nonce to retry with) leaves a code or refresh token unused.
    const dpop = await ctx.dpop.tokenRequestProof(request, reply, client.client);
    const holder = tokenHolderOf(request, client.client, dpop);
    response = await handler({ ctx, request, form, client, grantType, dpop, holder });
  } catch (error) {
    audit(request.log, 'token.refused', {
      client: client?.client.client_id,
      grant: grant !== undefined && grantHandlers.has(grant as GrantType) ? grant : undefined,
      reason: toTesseraError(error).code,
    });
    throw error;
  }
  ctx.metrics.tokensIssued.inc({ grant_type: grant as string });
  // The token's claims are read back only when the line is written (not on a silent logger).
  if (auditing(request.log)) writeIssued(request, client, grant, response);
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  return response;
}

function writeIssued(
  request: FastifyRequest,
  client: AuthenticatedClient,
  grant: string | undefined,
  response: TokenResponse,
): void {
  const claims = accessTokenClaims(response.access_token);
  audit(request.log, 'token.issued', {
    client: client.client.client_id,
    grant,
    user: claims.sub === client.client.client_id ? undefined : claims.sub,
    jti: claims.jti,
    audience: claims.aud,
  });
}

export function registerToken(app: FastifyInstance, ctx: ServiceContext): void {
  postEndpoint(app, ctx, '/token', tokenEndpoint);
}
