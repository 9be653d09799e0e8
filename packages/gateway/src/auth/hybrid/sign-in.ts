import { timingSafeEqual } from 'node:crypto';
import {
  audit,
  findCookie,
  httpRequestInfo,
  relaxedCookies,
  SealedBox,
  serializeCookie,
  sessionName,
  sha256Base64url,
} from '@tessera/core';
import { RequestSession } from '@tessera/session';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { calculatePKCECodeChallenge, randomNonce, randomPKCECodeVerifier, randomState } from 'openid-client';
import { GatewayError } from '../../errors.js';
import type { SessionMode } from '../session.js';
import { GrantRefused } from './failures.js';
import type { AuthorizationAnswer, OidcProvider } from './provider.js';
import type { SessionIndex } from './session-index.js';
import { tokensFrom, userClaimsOf } from './tokens.js';
import type { TokenVault } from './vault.js';

/**
 * What the gateway remembers between GET /auth/login and the callback. It travels sealed
 * (AES-256-GCM) in the browser's short-lived sign-in cookie, not in the store: an unauthenticated
 * request must not be able to make the gateway keep anything (the store would fill up, or evict
 * real sessions). The cookie also binds the sign-in to the browser that started it.
 */
interface PendingSignIn {
  readonly state: string;
  readonly verifier: string;
  readonly nonce: string;
  readonly returnTo: string;
  /** Epoch ms after which the sign-in is refused. */
  readonly expiresAt: number;
}

/** The sign-in cookie's two names: the plain-http localhost one (development) and the real one. */
export const signInCookieNames = { secure: '__Host-tessera-login', relaxed: 'tessera-login' } as const;

export interface SignInOptions {
  /** The key material the sign-in cookie is sealed with (the gateway's client secret). */
  readonly secret: string;
  /** Where the session's tokens are sealed before they are stored. */
  readonly vault: TokenVault;
  readonly now: () => number;
  readonly loginTimeoutMs: number;
  /** Where a session is indexed under the token service's session id, for back-channel logout. */
  readonly index: SessionIndex;
}

/**
 * Where to go after signing in: a path on this gateway only. `//host`, `/\host` and anything
 * absolute would make the gateway an open redirector.
 */
export function localReturnPath(value: unknown): string {
  if (typeof value !== 'string' || value === '') return '/';
  if (value.length > 2048 || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) {
    throw new GatewayError('invalid_request', 'return_to must be a path on this gateway');
  }
  // Visible ASCII only (percent-encode the rest): anything else cannot go out in a Location header.
  if (!/^[\x21-\x7e]+$/.test(value))
    throw new GatewayError('invalid_request', 'return_to must be a path on this gateway');
  return value;
}

/** The request's query, parsed once. */
function queryOf(request: FastifyRequest): URLSearchParams {
  const q = request.url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : request.url.slice(q + 1));
}

/** A parameter given at most once (a repeated one is ambiguous: refused, never picked from). */
function single(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length > 1) throw new GatewayError('invalid_request', `${name} is repeated`);
  return values[0];
}

/**
 * The code flow with PKCE (RFC 6749 4.1, RFC 7636, OpenID Connect Core 3.1) from the gateway's
 * side. The protocol is openid-client's (through `OidcProvider`); what is the gateway's own is the
 * binding of a sign-in to the browser that started it (the pending sign-in sealed in a short-lived
 * cookie, for the callback's very state, so a callback URL handed to someone else's browser signs
 * nobody in: login CSRF) and the session it ends in.
 */
export class SignIn {
  readonly #provider: OidcProvider;
  readonly #sessions: SessionMode;
  readonly #options: SignInOptions;
  readonly #box: SealedBox;

  constructor(provider: OidcProvider, sessions: SessionMode, options: SignInOptions) {
    this.#provider = provider;
    this.#sessions = sessions;
    this.#options = options;
    this.#box = SealedBox.fromSecret(options.secret, 'tessera gateway sign-in cookie');
  }

  /** The session's own rule decides the sign-in cookie's name and Secure flag. */
  #cookie(request: FastifyRequest): { name: string; secure: boolean } {
    return relaxedCookies(this.#sessions.manager.options, httpRequestInfo(request))
      ? { name: signInCookieNames.relaxed, secure: false }
      : { name: signInCookieNames.secure, secure: true };
  }

  #seal(pending: PendingSignIn): string {
    return this.#box.seal(JSON.stringify(pending));
  }

  #open(value: string | undefined): PendingSignIn | undefined {
    if (value === undefined || value.length > 2048) return undefined;
    const opened = this.#box.open(value);
    return opened === undefined ? undefined : (JSON.parse(opened.toString('utf8')) as PendingSignIn);
  }

  /** GET /auth/login: a new pending sign-in, sealed in a cookie, and the redirect to the token service. */
  async start(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const returnTo = localReturnPath(single(queryOf(request), 'return_to'));
    const pending: PendingSignIn = {
      state: randomState(),
      nonce: randomNonce(),
      verifier: randomPKCECodeVerifier(),
      returnTo,
      expiresAt: this.#options.now() + this.#options.loginTimeoutMs,
    };
    const location = await this.#provider.authorizationUrl({
      state: pending.state,
      nonce: pending.nonce,
      codeChallenge: await calculatePKCECodeChallenge(pending.verifier),
    });
    const { name, secure } = this.#cookie(request);
    // Lax, not Strict: the cookie must come back on the top-level redirect from the token service.
    const cookie = serializeCookie(name, this.#seal(pending), {
      secure,
      sameSite: 'Lax',
      maxAgeSeconds: Math.ceil(this.#options.loginTimeoutMs / 1000),
    });
    return reply
      .code(303)
      .header('set-cookie', cookie)
      .header('cache-control', 'no-store')
      .header('location', location)
      .send();
  }

  /** GET /auth/callback: the code for tokens, the tokens into a new session, back where the user was. */
  async finish(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    try {
      return await this.#finish(request, reply);
    } catch (error) {
      audit(request.log, 'login.failed', {
        client: this.#provider.clientId,
        reason: String((error as { code?: unknown }).code),
      });
      throw error;
    }
  }

  async #finish(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    reply.header('cache-control', 'no-store');
    const { name, secure } = this.#cookie(request);
    // The binding cookie has done its job whatever happens next.
    reply.header('set-cookie', serializeCookie(name, '', { secure, sameSite: 'Lax', maxAgeSeconds: 0 }));
    const query = queryOf(request);
    const state = single(query, 'state');
    if (state === undefined || state.length > 512)
      throw new GatewayError('sign_in_failed', 'the callback has no state', { expose: true });
    // One sign-in cookie, sealed by us, for this very state: else the sign-in was started in
    // another browser (or another tab since), was already finished, or was forged.
    const found = findCookie(request.headers.cookie, name);
    const pending = found.count === 1 ? this.#open(found.value) : undefined;
    const given = Buffer.from(sha256Base64url(state));
    const expected = Buffer.from(sha256Base64url(pending?.state ?? ''));
    if (pending === undefined || !timingSafeEqual(given, expected)) {
      throw new GatewayError(
        'sign_in_failed',
        'this sign-in was not started in this browser, or was already used; start again',
        { expose: true },
      );
    }
    if (this.#options.now() > pending.expiresAt) {
      throw new GatewayError('sign_in_failed', 'this sign-in took too long; start again', { expose: true });
    }
    // The rest of the answer (iss, an error, the code) is openid-client's to check; only its size is ours.
    if ((single(query, 'code')?.length ?? 0) > 2048)
      throw new GatewayError('sign_in_failed', 'the callback has an oversized code', { expose: true });
    const { tokens, claims } = await this.#exchange({
      query,
      state: pending.state,
      nonce: pending.nonce,
      verifier: pending.verifier,
    });
    const sub = claims.sub as string;
    const sid = typeof claims.sid === 'string' ? claims.sid : undefined;
    const userClaims = userClaimsOf(claims);
    const username = typeof claims.preferred_username === 'string' ? claims.preferred_username : sub;

    const session = new RequestSession(this.#sessions.manager, httpRequestInfo(request), (header, value) => {
      reply.header(header, value);
    });
    await session.load();
    // Always a new id, whatever cookie came in (fixation, docs/security.md E77).
    const created = await session.login(sub, {
      username,
      oidc: tokensFrom(this.#options.vault, sub, tokens, undefined, { sid, claims: userClaims }),
    });
    if (sid !== undefined) {
      // Back-channel logout names the token service's session: remember which of ours belong to it.
      // A session that could not be indexed could not be ended by it either: it is not kept.
      try {
        await this.#options.index.add(sid, { userId: sub, idHash: created.idHash });
      } catch (error) {
        await session.logout().catch(() => undefined);
        throw error;
      }
    }
    audit(request.log, 'login.succeeded', { user: sub, client: this.#provider.clientId });
    audit(request.log, 'session.created', { user: sub, session: sessionName(created.idHash) });
    return reply.code(303).header('location', pending.returnTo).send();
  }

  async #exchange(answer: AuthorizationAnswer) {
    try {
      return await this.#provider.exchangeCode(answer);
    } catch (error) {
      if (!(error instanceof GrantRefused)) throw error;
      // The token service refused the code (expired, replayed): the user starts again.
      throw new GatewayError('sign_in_failed', `the token service refused the code (${error.oauthError})`, {
        expose: true,
        cause: error,
      });
    }
  }
}
