import { httpRequestInfo, isLoopbackHost } from '@tessera/core';
import { createSessionManager, RequestSession, type SessionManager } from '@tessera/session';
import type { KeyValueStore } from '@tessera/storage';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** What the token service keeps in its own browser session (SSO). */
export interface SsoData {
  /** Random id of this browser session: the `sid` claim of its tokens and of revocation events. */
  readonly sid: string;
  /** Epoch seconds: when the user last entered the password. */
  readonly authTime: number;
}

export type SsoSessions = SessionManager<SsoData>;

export const SSO_COOKIE = '__Host-tessera-op';

function isLoopbackHttp(issuer: string): boolean {
  const url = new URL(issuer);
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

/**
 * The token service's login session, on @tessera/session: a `__Host-` cookie, the session in the
 * service's key-value store. A plain-http loopback issuer (dev, tests) uses the package's explicit
 * insecure-localhost relaxation; every other issuer gets Secure cookies.
 */
export function createSsoSessions(options: {
  readonly store: KeyValueStore;
  readonly issuer: string;
  readonly now: () => number;
  readonly warn: (message: string) => void;
}): SsoSessions {
  return createSessionManager<SsoData>({
    store: options.store,
    cookie: { name: SSO_COOKIE, insecureHttpLocalhost: isLoopbackHttp(options.issuer) },
    keyPrefix: 'op-session:',
    now: options.now,
    onWarning: options.warn,
  });
}

/** Loads this request's SSO session (anonymous when none); Set-Cookie goes on `reply`. */
export async function loadSso(
  sessions: SsoSessions,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<RequestSession<SsoData>> {
  const session = new RequestSession<SsoData>(sessions, httpRequestInfo(request), (name, value) => {
    reply.header(name, value);
  });
  await session.load();
  return session;
}
