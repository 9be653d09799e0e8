import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../context.js';
import { type FormBody, requireFormBody } from '../../lib/form-body.js';
import { sendErrorPage, setPageHeaders } from '../../lib/html.js';
import type { AuthorizationRequest, Interaction, InteractionRefusal } from '../../lib/interaction.js';
import { methodNotAllowed } from '../../lib/method-not-allowed.js';
import { OAuthError } from '../../lib/oauth-error.js';
import { signInWithPassword } from '../../lib/password-sign-in.js';
import { loadSso } from '../../lib/sso.js';
import { issueAuthorizationCode, type SignedInUser } from './issue.js';
import { sendConsentPage, sendLoginPage } from './pages.js';
import { RedirectableError, redirectWithCode, redirectWithError } from './redirect.js';
import { authorizationParameters, validateAuthorizationRequest } from './request.js';

// /authorize (OAuth 2.0 code flow with PKCE, OpenID Connect Core 3.1), the login form (POST
// /login) and the consent form (POST /consent). The validated request travels sealed in the form
// between the page and its POST (SealedInteractions), bound to the browser by a cookie: nothing is
// stored for a request that has not authenticated anything.

const nowSeconds = (ctx: ServiceContext): number => Math.floor(ctx.now() / 1000);

function targetOf(request: AuthorizationRequest) {
  return { redirectUri: request.redirectUri, state: request.state };
}

async function clientName(ctx: ServiceContext, clientId: string): Promise<string> {
  const client = await ctx.clients.find(clientId);
  return client?.client_name ?? clientId;
}

async function completeWithCode(
  ctx: ServiceContext,
  reply: FastifyReply,
  request: AuthorizationRequest,
  user: SignedInUser,
): Promise<FastifyReply> {
  const code = await issueAuthorizationCode(ctx, request, user);
  return redirectWithCode(ctx, reply, targetOf(request), code);
}

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
  let authz: AuthorizationRequest;
  try {
    authz = await validateAuthorizationRequest(ctx, authorizationParameters(request));
  } catch (error) {
    if (error instanceof RedirectableError) return redirectWithError(ctx, reply, error.target, error.error);
    if (error instanceof OAuthError) {
      ctx.metrics.errors.inc({ error: error.oauthError });
      return sendErrorPage(reply, 400, error.oauthError, error.description ?? 'The request is invalid.');
    }
    throw error;
  }
  const client = await ctx.clients.find(authz.clientId);
  if (client === undefined) return sendErrorPage(reply, 400, 'invalid_request', 'unknown client');
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
    return sendLoginPage(ctx, reply, {
      status: 200,
      interaction: sealed,
      csrf,
      request: authz,
      clientName: client.client_name ?? client.client_id,
    });
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
  return sendConsentPage(ctx, reply, {
    interaction: sealed,
    csrf,
    request: authz,
    clientName: client.client_name ?? client.client_id,
  });
}

const elsewhere = (reply: FastifyReply): FastifyReply =>
  sendErrorPage(
    reply,
    403,
    'invalid_request',
    'This form has expired or was not sent from this browser. Start again from the application.',
  );

const REFUSAL_PAGES: Readonly<Record<InteractionRefusal, (reply: FastifyReply) => FastifyReply>> = {
  damaged: (reply) =>
    sendErrorPage(
      reply,
      400,
      'invalid_request',
      'This form could not be read. Start again from the application.',
    ),
  expired: (reply) =>
    sendErrorPage(reply, 400, 'invalid_request', 'This form has expired. Start again from the application.'),
  elsewhere,
};

/** The interaction a form POST carries, checked against this browser's cookie and the CSRF token; or the page refusing it. */
function formInteraction(
  ctx: ServiceContext,
  request: FastifyRequest,
): { form: FormBody; sealed: string; interaction: Interaction } | { refused: InteractionRefusal } {
  let form: FormBody;
  try {
    form = requireFormBody(request.body);
  } catch {
    return { refused: 'damaged' };
  }
  if (form.repeated.length > 0) return { refused: 'damaged' };
  const sealed = form.get('interaction');
  const opened = ctx.interactions.open(request, sealed, form.get('csrf'));
  if (!opened.ok || sealed === undefined) return { refused: opened.ok ? 'damaged' : opened.refusal };
  return { form, sealed, interaction: opened.interaction };
}

function cancel(ctx: ServiceContext, reply: FastifyReply, interaction: Interaction): FastifyReply {
  ctx.interactions.finish(reply);
  return redirectWithError(
    ctx,
    reply,
    targetOf(interaction.request),
    new OAuthError('access_denied', 'the user denied the request'),
  );
}

async function login(
  ctx: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  setPageHeaders(reply);
  const found = formInteraction(ctx, request);
  if ('refused' in found) return REFUSAL_PAGES[found.refused](reply);
  const { form, sealed, interaction } = found;
  if (form.get('action') === 'cancel') return cancel(ctx, reply, interaction);
  const name = await clientName(ctx, interaction.request.clientId);
  const username = form.get('username') ?? '';
  const page = {
    interaction: sealed,
    csrf: interaction.csrf,
    request: interaction.request,
    clientName: name,
    username,
  };
  const signedIn = await signInWithPassword(ctx, request, reply, form, interaction.request.clientId);
  if (!signedIn.ok)
    return sendLoginPage(ctx, reply, { ...page, status: signedIn.status, message: signedIn.message });
  const { userId } = signedIn;
  const client = await ctx.clients.find(interaction.request.clientId);
  if (client === undefined) return elsewhere(reply);
  if (client.first_party) {
    ctx.interactions.finish(reply);
    return completeWithCode(ctx, reply, interaction.request, {
      userId,
      sid: signedIn.sid,
      authTime: signedIn.authTime,
    });
  }
  // The next step gets a new binding cookie: the login form cannot be posted again after this.
  const next = ctx.interactions.start(interaction.request, reply, userId);
  return sendConsentPage(ctx, reply, {
    interaction: next.sealed,
    csrf: next.csrf,
    request: interaction.request,
    clientName: name,
  });
}

async function consent(
  ctx: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  setPageHeaders(reply);
  const found = formInteraction(ctx, request);
  if ('refused' in found) return REFUSAL_PAGES[found.refused](reply);
  const { form, interaction } = found;
  if (interaction.userId === undefined) return elsewhere(reply);
  const sso = await loadSso(ctx.sso, request, reply);
  const session = sso.current;
  // Consent is given by the user who signed in for this interaction, in this browser.
  if (session === null || session.userId !== interaction.userId) return elsewhere(reply);
  if (form.get('action') !== 'approve') return cancel(ctx, reply, interaction);
  ctx.interactions.finish(reply);
  return completeWithCode(ctx, reply, interaction.request, {
    userId: session.userId,
    sid: session.data.sid,
    authTime: session.data.authTime,
  });
}

export function registerAuthorize(app: FastifyInstance, ctx: ServiceContext): void {
  app.get('/authorize', (request, reply) => authorize(ctx, request, reply));
  app.post('/authorize', (request, reply) => authorize(ctx, request, reply));
  methodNotAllowed(app, '/authorize', ['GET', 'POST']);
  app.post('/login', (request, reply) => login(ctx, request, reply));
  methodNotAllowed(app, '/login', ['POST']);
  app.post('/consent', (request, reply) => consent(ctx, request, reply));
  methodNotAllowed(app, '/consent', ['POST']);
}
