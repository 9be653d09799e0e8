import type { FastifyReply } from 'fastify';
import type { ServiceContext } from '../../context.js';
import type { AuthorizationRequest } from '../../lib/interaction.js';
import { redirectWithCode, targetOf } from './redirect.js';

/** Who signed in, from the SSO session. */
export interface SignedInUser {
  readonly userId: string;
  readonly sid: string;
  /** Epoch seconds. */
  readonly authTime: number;
}

/**
 * Creates the grant (the future refresh family) and a one-use code bound to the client, the
 * redirect URI, the PKCE challenge, the nonce and the DPoP key the request named; returns the code, which is stored only hashed.
 */
export async function issueAuthorizationCode(
  ctx: ServiceContext,
  request: AuthorizationRequest,
  user: SignedInUser,
): Promise<string> {
  const now = ctx.now();
  const grant = await ctx.grants.create({
    userId: user.userId,
    clientId: request.clientId,
    scopes: request.scopes,
    audiences: request.audiences,
    sid: user.sid,
    authTime: user.authTime,
    expiresAt: now + ctx.options.refreshTokenAbsoluteLifetime * 1000,
  });
  return ctx.codes.create({
    grantId: grant.id,
    clientId: request.clientId,
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    nonce: request.nonce,
    dpopJkt: request.dpopJkt,
    expiresAt: now + ctx.options.codeLifetime * 1000,
  });
}

/** Ends a signed-in, consented request: a new code, sent to the client's redirect URI. */
export async function completeWithCode(
  ctx: ServiceContext,
  reply: FastifyReply,
  request: AuthorizationRequest,
  user: SignedInUser,
): Promise<FastifyReply> {
  const code = await issueAuthorizationCode(ctx, request, user);
  return redirectWithCode(ctx, reply, targetOf(request), code);
}
