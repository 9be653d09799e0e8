import { audit, escapeHtml, sessionName } from '@tessera/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import type { ServiceContext } from '../context.js';
import { FormBody } from '../lib/form-body.js';
import { sendErrorPage, sendPage, setPageHeaders } from '../lib/html.js';
import { methodNotAllowed } from '../lib/method-not-allowed.js';
import { ownKeyResolver } from '../lib/own-jwt.js';
import { publishRevocation, revocationHorizon, revokeGrants } from '../lib/revocation.js';
import { loadSso } from '../lib/sso.js';
import { MAX_STATE_LENGTH } from './authorize/request.js';

// OpenID Connect RP-Initiated Logout 1.0. With a valid id_token_hint (our signature, our issuer;
// an expired one is accepted, as the spec allows) the session of that user ends at once and the
// browser goes to a registered post_logout_redirect_uri with `state`. Without a hint, a
// confirmation form (CSRF-protected by the session's token) stands between a link and a logout.

interface Hint {
  readonly sub: string;
  readonly clientId: string;
}

type KeyResolver = ReturnType<typeof ownKeyResolver>;

function parameters(request: FastifyRequest): FormBody {
  if (request.method === 'POST') return request.body instanceof FormBody ? request.body : new FormBody('');
  const url = request.raw.url ?? '';
  const query = url.indexOf('?');
  return new FormBody(query === -1 ? '' : url.slice(query + 1));
}

async function verifyHint(ctx: ServiceContext, keys: KeyResolver, hint: string): Promise<Hint | undefined> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(hint, keys(), {
      issuer: ctx.issuer,
      algorithms: ['RS256', 'EdDSA', 'ES256'],
      currentDate: new Date(ctx.now()),
    }));
  } catch (error) {
    // The signature and issuer were good; only the time checks failed: still a valid hint.
    if (!(error instanceof joseErrors.JWTExpired) || error.payload.iss !== ctx.issuer) return undefined;
    payload = error.payload;
  }
  const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
  if (typeof payload.sub !== 'string' || typeof aud !== 'string') return undefined;
  // Only an ID token (typ JWT) is a hint: an access token (at+jwt) or a logout token
  // (logout+jwt) of the same issuer is not, whatever its claims.
  const typ = decodeProtectedHeader(hint).typ;
  if (typ !== undefined && typ.toLowerCase() !== 'jwt') return undefined;
  return { sub: payload.sub, clientId: aud };
}

async function endSession(
  ctx: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
  sub: string | undefined,
) {
  const sso = await loadSso(ctx.sso, request, reply);
  const session = sso.current;
  // A hint for another user never ends this browser's session.
  if (session === null || (sub !== undefined && session.userId !== sub)) return;
  const sid = session.data.sid;
  // Who must hear of it over the back channel: read before the grants are revoked.
  const holders = await ctx.grants.liveGrantHolders({ sid });
  await sso.logout();
  audit(request.log, 'session.ended', {
    user: session.userId,
    session: sessionName(session.idHash),
    reason: 'logout',
  });
  await revokeGrants(ctx, { sid });
  ctx.backchannel.send(holders);
  await publishRevocation(ctx, { kind: 'sid', value: sid, until: revocationHorizon(ctx) });
}

function signedOut(reply: FastifyReply): FastifyReply {
  return sendPage(reply, 200, 'Signed out', '<h1>You are signed out</h1>');
}

async function logout(ctx: ServiceContext, keys: KeyResolver, request: FastifyRequest, reply: FastifyReply) {
  setPageHeaders(reply);
  const params = parameters(request);
  if (params.repeated.length > 0)
    return sendErrorPage(reply, 400, 'invalid_request', 'a parameter is repeated');
  const state = params.get('state');
  if (state !== undefined && state.length > MAX_STATE_LENGTH) {
    return sendErrorPage(reply, 400, 'invalid_request', 'state is too long');
  }
  const rawHint = params.get('id_token_hint');
  const hint = rawHint === undefined ? undefined : await verifyHint(ctx, keys, rawHint);
  if (rawHint !== undefined && hint === undefined) {
    return sendErrorPage(
      reply,
      400,
      'invalid_request',
      'id_token_hint is not a valid ID token of this issuer',
    );
  }
  const clientId = params.get('client_id');
  if (hint !== undefined && clientId !== undefined && clientId !== hint.clientId) {
    return sendErrorPage(reply, 400, 'invalid_request', 'client_id does not match id_token_hint');
  }
  const redirectUri = params.get('post_logout_redirect_uri');
  const client = await (async () => {
    const id = hint?.clientId ?? clientId;
    return id === undefined || id.length > 255 ? undefined : ctx.clients.find(id);
  })();
  if (
    redirectUri !== undefined &&
    (client === undefined || !client.post_logout_redirect_uris.includes(redirectUri))
  ) {
    return sendErrorPage(
      reply,
      400,
      'invalid_request',
      'post_logout_redirect_uri is not registered for this client',
    );
  }
  if (hint === undefined) {
    const sso = await loadSso(ctx.sso, request, reply);
    const session = sso.current;
    // Already signed out here: nothing to confirm, so a registered return address is followed.
    if (session === null)
      return redirectUri === undefined ? signedOut(reply) : backTo(reply, redirectUri, state);
    if (request.method !== 'POST' || params.get('confirm') !== 'yes') {
      const keep = [
        ['client_id', clientId],
        ['post_logout_redirect_uri', redirectUri],
        ['state', state],
      ]
        .filter((pair): pair is [string, string] => pair[1] !== undefined)
        .map(([name, value]) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`)
        .join('');
      const action = escapeHtml(new URL(ctx.endpoints.endSession).pathname);
      return sendPage(
        reply,
        200,
        'Sign out',
        `<h1>Sign out?</h1><form method="post" action="${action}"><input type="hidden" name="csrf" value="${escapeHtml(session.csrfToken)}">${keep}<button type="submit" name="confirm" value="yes">Sign out</button></form>`,
        redirectUri === undefined ? [] : [new URL(redirectUri).origin],
      );
    }
    if (!session.csrfTokenMatches(params.get('csrf'))) {
      return sendErrorPage(reply, 403, 'invalid_request', 'the sign-out form did not come from this browser');
    }
  }
  await endSession(ctx, request, reply, hint?.sub);
  if (redirectUri === undefined) return signedOut(reply);
  return backTo(reply, redirectUri, state);
}

/** 303 to a registered post_logout_redirect_uri, with `state` passed back. */
function backTo(reply: FastifyReply, redirectUri: string, state: string | undefined): FastifyReply {
  const url = new URL(redirectUri);
  if (state !== undefined) url.searchParams.append('state', state);
  return reply.code(303).header('location', url.href).send();
}

export function registerLogout(app: FastifyInstance, ctx: ServiceContext): void {
  const keys = ownKeyResolver(() => ctx.keys.keySet);
  app.get('/logout', (request, reply) => logout(ctx, keys, request, reply));
  app.post('/logout', (request, reply) => logout(ctx, keys, request, reply));
  methodNotAllowed(app, '/logout', ['GET', 'POST']);
}
