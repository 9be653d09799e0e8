import { randomBytes } from 'node:crypto';
import { IdentityError } from '@tessera/identity';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../context.js';
import { type FormBody, requireFormBody } from '../../lib/form-body.js';
import { sendErrorPage, setPageHeaders } from '../../lib/html.js';
import type { AuthorizationRequest, Interaction } from '../../lib/interaction.js';
import { methodNotAllowed } from '../../lib/method-not-allowed.js';
import { OAuthError } from '../../lib/oauth-error.js';
import { loadSso } from '../../lib/sso.js';
import { issueAuthorizationCode, type SignedInUser } from './issue.js';
import { sendConsentPage, sendLoginPage } from './pages.js';
import { RedirectableError, redirectWithCode, redirectWithError } from './redirect.js';
import { authorizationParameters, validateAuthorizationRequest } from './request.js';

// /authorize (OAuth 2.0 code flow with PKCE, OpenID Connect Core 3.1), the login form (POST
// /login) and the consent form (POST /consent). The validated request waits in the key-value store
// (InteractionStore) between the page and its POST, bound to the browser by a cookie.

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
      ctx.metrics.errors.inc({ error: error.code });
      return sendErrorPage(reply, 400, error.code, error.description ?? 'The request is invalid.');
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
    const { id, csrf } = await ctx.interactions.start(authz, reply);
    return sendLoginPage(ctx, reply, {
      status: 200,
      interaction: id,
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
  const { id, csrf } = await ctx.interactions.start(authz, reply, session.userId);
  return sendConsentPage(ctx, reply, {
    interaction: id,
    csrf,
    request: authz,
    clientName: client.client_name ?? client.client_id,
  });
}

const expired = (reply: FastifyReply): FastifyReply =>
  sendErrorPage(
    reply,
    403,
    'invalid_request',
    'This form has expired or was not sent from this browser. Start again from the application.',
  );

/** The interaction a form POST names, checked against this browser's cookie and the CSRF token. */
async function formInteraction(
  ctx: ServiceContext,
  request: FastifyRequest,
): Promise<{ form: FormBody; id: string; interaction: Interaction } | undefined> {
  let form: FormBody;
  try {
    form = requireFormBody(request.body);
  } catch {
    return undefined;
  }
  const id = form.get('interaction');
  const interaction = await ctx.interactions.find(request, id, form.get('csrf'));
  if (id === undefined || interaction === undefined || form.repeated.length > 0) return undefined;
  return { form, id, interaction };
}

async function cancel(
  ctx: ServiceContext,
  reply: FastifyReply,
  id: string,
  interaction: Interaction,
): Promise<FastifyReply> {
  if (!(await ctx.interactions.finish(id, reply))) return expired(reply);
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
  const found = await formInteraction(ctx, request);
  if (found === undefined) return expired(reply);
  const { form, id, interaction } = found;
  if (form.get('action') === 'cancel') return cancel(ctx, reply, id, interaction);
  const name = await clientName(ctx, interaction.request.clientId);
  const username = form.get('username') ?? '';
  const page = {
    interaction: id,
    csrf: interaction.csrf,
    request: interaction.request,
    clientName: name,
    username,
  };
  let userId: string;
  try {
    const user = await ctx.users.authenticate({
      username,
      password: form.get('password') ?? '',
      address: request.ip,
    });
    userId = user.id;
  } catch (error) {
    if (!(error instanceof IdentityError)) throw error;
    if (error.code === 'login_rate_limited') {
      const seconds = error.retryAfterSeconds ?? 1;
      reply.header('retry-after', String(seconds));
      return sendLoginPage(ctx, reply, {
        ...page,
        status: 429,
        message: `Too many attempts. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`,
      });
    }
    // One message for every failure (unknown user, wrong password, disabled): no enumeration.
    return sendLoginPage(ctx, reply, { ...page, status: 401, message: 'invalid username or password' });
  }
  const sso = await loadSso(ctx.sso, request, reply);
  // A new session id at every sign-in (fixation); auth_time moves.
  const session = await sso.login(userId, {
    sid: randomBytes(16).toString('base64url'),
    authTime: nowSeconds(ctx),
  });
  const client = await ctx.clients.find(interaction.request.clientId);
  if (client === undefined) return expired(reply);
  if (client.first_party) {
    if (!(await ctx.interactions.finish(id, reply))) return expired(reply);
    return completeWithCode(ctx, reply, interaction.request, {
      userId,
      sid: session.data.sid,
      authTime: session.data.authTime,
    });
  }
  await ctx.interactions.update(id, { ...interaction, userId });
  return sendConsentPage(ctx, reply, {
    interaction: id,
    csrf: interaction.csrf,
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
  const found = await formInteraction(ctx, request);
  if (found === undefined || found.interaction.userId === undefined) return expired(reply);
  const { form, id, interaction } = found;
  const sso = await loadSso(ctx.sso, request, reply);
  const session = sso.current;
  // Consent is given by the user who signed in for this interaction, in this browser.
  if (session === null || session.userId !== interaction.userId) return expired(reply);
  if (form.get('action') !== 'approve') return cancel(ctx, reply, id, interaction);
  if (!(await ctx.interactions.finish(id, reply))) return expired(reply);
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
