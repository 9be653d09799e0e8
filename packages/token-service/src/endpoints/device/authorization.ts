import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../context.js';
import { resolveAudience } from '../../lib/audience.js';
import { authenticateClient } from '../../lib/client-auth/index.js';
import { rejectRepeatedParameters, requireFormBody } from '../../lib/form-body.js';
import { postEndpoint } from '../../lib/method-not-allowed.js';
import { OAuthError } from '../../lib/oauth-error.js';
import { resolveScopes } from '../../lib/scope.js';
import { DEVICE_CODE_GRANT } from '../../store/client.js';

/** The RFC 8628 3.2 answer. */
export interface DeviceAuthorizationResponse {
  readonly device_code: string;
  readonly user_code: string;
  readonly verification_uri: string;
  readonly verification_uri_complete: string;
  readonly expires_in: number;
  readonly interval: number;
}

/**
 * RFC 8628 3.1-3.2: the client authenticates as at /token (a public client names itself with
 * `client_id`), must be registered for the device grant, and asks for scopes (and audiences)
 * within its registration. Only then is anything stored: the pending authorization.
 */
async function deviceAuthorization(
  ctx: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<DeviceAuthorizationResponse> {
  const form = requireFormBody(request.body);
  rejectRepeatedParameters(form, ['resource', 'audience']);
  const { client } = await authenticateClient(ctx, request, form);
  if (!client.grant_types.includes(DEVICE_CODE_GRANT)) {
    throw new OAuthError('unauthorized_client', 'the client is not registered for the device_code grant');
  }
  const scopes = resolveScopes(form.get('scope'), client.scopes);
  const audiences = resolveAudience(form, client.audiences);
  const { deviceCode, userCode } = await ctx.devices.create({
    clientId: client.client_id,
    scopes,
    audiences,
    intervalS: ctx.options.deviceCodeInterval,
    expiresAt: ctx.now() + ctx.options.deviceCodeLifetime * 1000,
  });
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  const complete = new URL(ctx.endpoints.device);
  complete.searchParams.set('user_code', userCode);
  return {
    device_code: deviceCode,
    user_code: userCode,
    verification_uri: ctx.endpoints.device,
    verification_uri_complete: complete.href,
    expires_in: ctx.options.deviceCodeLifetime,
    interval: ctx.options.deviceCodeInterval,
  };
}

export function registerDeviceAuthorization(app: FastifyInstance, ctx: ServiceContext): void {
  postEndpoint(app, ctx, '/device_authorization', deviceAuthorization);
}
