import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../context.js';
import { sendErrorPage, setPageHeaders } from '../../lib/html.js';
import type { AuthorizationRequest } from '../../lib/interaction.js';
import { methodNotAllowed } from '../../lib/method-not-allowed.js';
import { countError } from '../../lib/metrics.js';
import { OAuthError } from '../../lib/oauth-error.js';
import { loadSso } from '../../lib/sso.js';
import { completeWithCode } from './issue.js';
import { sendConsentPage, sendLoginPage } from './pages.js';
import { RedirectableError, redirectWithError, targetOf } from './redirect.js';
import {
  authorizationParameters,
  type ValidatedAuthorization,
  validateAuthorizationRequest,
} from './request.js';

// /authorize (OAuth 2.0 code flow with PKCE, OpenID Connect Core 3.1). Its login form (POST
// /login, ../login.ts) and consent form (POST /consent, ../consent.ts) carry the validated request
// sealed between the page and its POST (SealedInteractions), bound to the browser by a cookie:
// nothing is stored for a request that has not authenticated anything.

const nowSeconds = (ctx: ServiceContext): number => Math.floor(ctx.now() / 1000);

/** Sign-in needed: no session, `prompt=login`, or `max_age` exceeded (OIDC Core 3.1.2.1). */
function mustSignIn(request: AuthorizationRequest, authTime: number | undefined, now: number): boolean {
  if (authTime === undefined || request.prompt.includes('login')) return true;
  // max_age=0 is prompt=login (OIDC Core 3.1.2.1); after a fresh sign-in the flow ends at the
  // login POST, so this never loops.
  return request.maxAge !== undefined && (request.maxAge === 0 || now - authTime > request.maxAge);
}

async function authorize(
  ctx: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  setPageHeaders(reply);
  let validated: ValidatedAuthorization;
  try {
    validated = await validateAuthorizationRequest(ctx, authorizationParameters(request));
  } catch (error) {
    if (error instanceof RedirectableError) return redirectWithError(ctx, reply, error.target, error.error);
    if (error instanceof OAuthError) {
      countError(ctx.metrics, error.code, error.oauthError);
      return sendErrorPage(reply, 400, error.oauthError, error.description ?? 'The request is invalid.');
    }
    throw error;
  }
  // The client the validation read: the one lookup of this request.
  const { request: authz, client } = validated;
  const clientName = client.client_name ?? client.client_id;
  const sso = await loadSso(ctx.sso, request, reply);
  const session = sso.current;
  const none = authz.prompt.includes('none');
  if (session === null || mustSignIn(authz, session.data.authTime, nowSeconds(ctx))) {
    if (none)
      return redirectWithError(
        ctx,
        reply,
        targetOf(authz),
        new OAuthError('login_required', 'the user is not signed in'),
      );
    const { sealed, csrf } = ctx.interactions.start(authz, reply);
    return sendLoginPage(ctx, reply, { status: 200, interaction: sealed, csrf, request: authz, clientName });
  }
  const user = { userId: session.userId, sid: session.data.sid, authTime: session.data.authTime };
  if (client.first_party) return completeWithCode(ctx, reply, authz, user);
  if (none)
    return redirectWithError(
      ctx,
      reply,
      targetOf(authz),
      new OAuthError('consent_required', 'consent is required'),
    );
  const { sealed, csrf } = ctx.interactions.start(authz, reply, session.userId);
  return sendConsentPage(ctx, reply, { interaction: sealed, csrf, request: authz, clientName });
}

export function registerAuthorize(app: FastifyInstance, ctx: ServiceContext): void {
  app.get('/authorize', (request, reply) => authorize(ctx, request, reply));
  app.post('/authorize', (request, reply) => authorize(ctx, request, reply));
  methodNotAllowed(app, '/authorize', ['GET', 'POST']);
}
