import { randomBytes } from 'node:crypto';
import { audit, sessionName } from '@tessera/core';
import { IdentityError } from '@tessera/identity';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../context.js';
import type { FormBody } from './form-body.js';
import { loadSso } from './sso.js';

/** A login form's outcome: the new SSO session's user, or what the page says (and its status). */
export type PasswordSignIn =
  | { readonly ok: true; readonly userId: string; readonly sid: string; readonly authTime: number }
  | { readonly ok: false; readonly status: 401 | 429; readonly message: string };

/**
 * Checks a login form's `username` and `password` against the user directory (its rate limits
 * included) and, when they match, starts a new SSO session in this browser. The one sign-in of
 * the /authorize login page and the device page.
 */
export async function signInWithPassword(
  ctx: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
  form: FormBody,
  /** The client being signed in to, for the audit trail (none on the device page). */
  clientId?: string,
): Promise<PasswordSignIn> {
  let userId: string;
  try {
    const user = await ctx.users.authenticate({
      username: form.get('username') ?? '',
      password: form.get('password') ?? '',
      address: request.ip,
    });
    userId = user.id;
  } catch (error) {
    if (!(error instanceof IdentityError)) throw error;
    // Not the username typed: it may be a password typed in the wrong field.
    audit(request.log, 'login.failed', { client: clientId, reason: error.code });
    if (error.code === 'ERR_LOGIN_RATE_LIMITED') {
      const seconds = error.retryAfterSeconds ?? 1;
      reply.header('retry-after', String(seconds));
      return {
        ok: false,
        status: 429,
        message: `Too many attempts. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`,
      };
    }
    // One message for every failure (unknown user, wrong password, disabled): no enumeration.
    return { ok: false, status: 401, message: 'invalid username or password' };
  }
  const sso = await loadSso(ctx.sso, request, reply);
  // A new session id at every sign-in (fixation); auth_time moves.
  const session = await sso.login(userId, {
    sid: randomBytes(16).toString('base64url'),
    authTime: Math.floor(ctx.now() / 1000),
  });
  audit(request.log, 'login.succeeded', { user: userId, client: clientId });
  audit(request.log, 'session.created', { user: userId, session: sessionName(session.idHash) });
  return { ok: true, userId, sid: session.data.sid, authTime: session.data.authTime };
}
