import { sanitizeDescription } from '@tessera/core';
import type { FastifyReply } from 'fastify';
import type { ServiceContext } from '../../context.js';
import { countError } from '../../lib/metrics.js';
import type { OAuthError } from '../../lib/oauth-error.js';

/** Where an answer to a verified authorization request goes, and the `state` it echoes. */
export interface RedirectTarget {
  readonly redirectUri: string;
  readonly state: string | undefined;
}

/** Where the answers to a validated request go. */
export function targetOf(request: {
  readonly redirectUri: string;
  readonly state: string | undefined;
}): RedirectTarget {
  return { redirectUri: request.redirectUri, state: request.state };
}

/**
 * An error that may be sent back to the client's verified redirect URI (RFC 6749 4.1.2.1). Errors
 * before the client and redirect URI are verified are plain OAuthErrors and become an error page.
 */
export class RedirectableError extends Error {
  readonly error: OAuthError;
  readonly target: RedirectTarget;

  constructor(error: OAuthError, target: RedirectTarget) {
    super(error.message);
    this.error = error;
    this.target = target;
  }
}

function redirect(
  ctx: ServiceContext,
  reply: FastifyReply,
  target: RedirectTarget,
  params: Record<string, string>,
): FastifyReply {
  const url = new URL(target.redirectUri);
  for (const [name, value] of Object.entries(params)) url.searchParams.append(name, value);
  if (target.state !== undefined) url.searchParams.append('state', target.state);
  // RFC 9207: the issuer in every authorization response, so a client can tell mix-up attacks.
  url.searchParams.append('iss', ctx.issuer);
  // 303 so the browser never re-sends a credential POST to the client (RFC 9700 4.12).
  return reply.code(303).header('location', url.href).send();
}

export function redirectWithCode(
  ctx: ServiceContext,
  reply: FastifyReply,
  target: RedirectTarget,
  code: string,
): FastifyReply {
  return redirect(ctx, reply, target, { code });
}

export function redirectWithError(
  ctx: ServiceContext,
  reply: FastifyReply,
  target: RedirectTarget,
  error: OAuthError,
): FastifyReply {
  countError(ctx.metrics, error.code, error.oauthError);
  const params: Record<string, string> = { error: error.oauthError };
  if (error.description !== undefined) params.error_description = sanitizeDescription(error.description);
  return redirect(ctx, reply, target, params);
}
