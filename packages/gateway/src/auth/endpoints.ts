import { audit, sessionName } from '@tessera/core';
import { SessionError } from '@tessera/session';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import type { HybridMode } from './hybrid/index.js';
import type { SessionMode } from './session.js';

interface Credentials {
  readonly username: string;
  readonly password: string;
}

function credentialsOf(body: unknown): Credentials {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const { username, password } = body as Record<string, unknown>;
    if (typeof username === 'string' && typeof password === 'string') return { username, password };
  }
  throw new GatewayError('invalid_request', 'send a username and a password (JSON or a form)');
}

/**
 * Login CSRF: a cross-site page must not sign the browser in to the attacker's account. The same
 * Origin rule the session applies to unsafe methods, applied before any session exists.
 */
function refuseCrossSite(request: FastifyRequest, allowedOrigins: readonly string[] | undefined): void {
  const site = request.headers['sec-fetch-site'];
  if (site === 'cross-site') throw new SessionError('csrf_origin_mismatch');
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const own = `${request.protocol}://${String(request.headers.host ?? '').toLowerCase()}`;
  const allowed =
    allowedOrigins === undefined ? origin.toLowerCase() === own : allowedOrigins.includes(origin);
  if (!allowed) throw new SessionError('csrf_origin_mismatch');
}

function parseForm(body: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(body)) {
    // A repeated field is ambiguous: refuse it rather than pick one.
    if (Object.hasOwn(fields, name)) throw new GatewayError('invalid_request', 'a form field is repeated');
    fields[name] = value;
  }
  return fields;
}

/**
 * The cookie modes' endpoints: `POST /auth/login` (form login, when the gateway has a user
 * directory), `GET /auth/me`, `POST /auth/logout`, and hybrid sign-in's own when it is on.
 */
export function registerSessionEndpoints(
  app: FastifyInstance,
  mode: SessionMode,
  allowedOrigins: readonly string[] | undefined,
  hybrid: HybridMode | undefined,
): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      try {
        done(null, parseForm(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );

  hybrid?.register(app);
  const { directory } = mode;
  if (directory !== undefined) {
    app.post('/auth/login', async (request: FastifyRequest, reply: FastifyReply) => {
      refuseCrossSite(request, allowedOrigins);
      const { username, password } = credentialsOf(request.body);
      const session = await mode.load(request, reply);
      let user: Awaited<ReturnType<typeof directory.authenticate>>;
      try {
        user = await directory.authenticate({ username, password, address: request.ip });
      } catch (error) {
        // Not what was typed as the username: it may be a password typed in the wrong field.
        audit(request.log, 'login.failed', { reason: String((error as { code?: unknown }).code) });
        throw error;
      }
      // Always a new id, whatever cookie came in (fixation, docs/security.md E77).
      const created = await session.login(user.id, { username: user.username });
      audit(request.log, 'login.succeeded', { user: user.id });
      audit(request.log, 'session.created', { user: user.id, session: sessionName(created.idHash) });
      return reply.code(204).header('cache-control', 'no-store').send();
    });
  }

  app.get('/auth/me', async (request, reply) => {
    const session = await mode.load(request, reply);
    const current = session.require();
    const held = current.data.oidc;
    if (held !== undefined) {
      // A hybrid session: the user as the token service described them at sign-in. A user
      // disabled there ends this session by back-channel logout or at the next refresh.
      return reply.header('cache-control', 'no-store').send({
        subject: current.userId,
        username: current.data.username,
        claims: held.claims,
        scope: held.scope,
        csrf_token: session.csrfToken,
      });
    }
    if (directory === undefined) throw new SessionError('session_required');
    // Read the user each time: a user disabled by another process loses the session here.
    const user = await directory.findById(current.userId);
    if (user === null || user.disabled) {
      await session.logout();
      throw new SessionError('session_required');
    }
    return reply.header('cache-control', 'no-store').send({
      subject: user.id,
      username: user.username,
      claims: user.claims,
      csrf_token: session.csrfToken,
    });
  });

  app.post('/auth/logout', async (request, reply) => {
    const session = await mode.load(request, reply);
    const token = request.headers['x-csrf-token'];
    session.checkCsrf(typeof token === 'string' ? token : undefined);
    const current = session.current;
    await session.logout();
    if (current !== null) {
      audit(request.log, 'session.ended', {
        user: current.userId,
        session: sessionName(current.idHash),
        reason: 'logout',
      });
    }
    // A hybrid session also ends its grant, and the browser may go on to end the token service's session.
    const next = current === null || hybrid === undefined ? undefined : await hybrid.logout(current);
    return next === undefined ? reply.code(204).send() : reply.code(200).send({ next });
  });
}

/**
 * The gateway's own /auth endpoints, in a scope of their own (their form parser is theirs): login,
 * me and logout when a session or hybrid route exists, and hybrid's sign-in and back channel.
 */
export async function registerAuthEndpoints(
  app: FastifyInstance,
  modes: { readonly session: SessionMode | undefined; readonly hybrid: HybridMode | undefined },
  allowedOrigins: readonly string[] | undefined,
): Promise<void> {
  const { session, hybrid } = modes;
  if (session === undefined) return;
  await app.register(async (auth) => {
    registerSessionEndpoints(auth, session, allowedOrigins, hybrid);
  });
}
