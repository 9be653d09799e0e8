import { randomBytes } from 'node:crypto';
import { type Session, SessionError, type SessionManager } from '@tessera/session';
import type { KeyValueStore } from '@tessera/storage';
import type { FastifyBaseLogger } from 'fastify';
import { GatewayError } from '../../errors.js';
import type { GatewaySessionData, OidcSessionTokens } from '../session.js';
import { GrantRefused } from './failures.js';
import type { Granted, OidcProvider, TokenSet } from './provider.js';
import type { HeldTokens, TokenVault } from './vault.js';

export interface SessionTokensOptions {
  readonly vault: TokenVault;
  readonly refreshBeforeExpiryMs: number;
  /** How long one instance may hold the refresh lock of a session. */
  readonly lockTtlMs: number;
  readonly now: () => number;
  readonly log: FastifyBaseLogger;
  /** `hybrid.dpop`: this instance's key; a token bound to another is refreshed, never sent. */
  readonly jkt?: string;
}

const POLL_MS = 25;

// Claims of the ID token that describe the token, not the user: /auth/me leaves them out.
const protocolClaims = new Set([
  'iss',
  'aud',
  'exp',
  'iat',
  'nbf',
  'nonce',
  'azp',
  'at_hash',
  'c_hash',
  'sid',
  'auth_time',
  'acr',
  'amr',
  'jti',
]);

/** The claims of an ID token that describe the user (what /auth/me answers). */
export function userClaimsOf(claims: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(claims).filter(([name]) => !protocolClaims.has(name)));
}

/** The session's tokens after a code exchange or a refresh; what the token service left out is kept. */
export function tokensFrom(
  vault: TokenVault,
  userId: string,
  set: TokenSet,
  previous: { readonly meta: OidcSessionTokens; readonly held: HeldTokens } | undefined,
  extra: {
    readonly sid?: string | undefined;
    readonly claims?: Readonly<Record<string, unknown>>;
  },
): OidcSessionTokens {
  const refreshToken = set.refreshToken ?? previous?.held.refreshToken;
  const sid = extra.sid ?? previous?.meta.sid;
  return {
    sealed: vault.seal(userId, {
      accessToken: set.accessToken,
      ...(refreshToken === undefined ? {} : { refreshToken }),
    }),
    accessExpiresAt: set.accessExpiresAt,
    scope: set.scope.join(' '),
    claims: extra.claims ?? previous?.meta.claims ?? {},
    ...(sid === undefined ? {} : { sid }),
    ...(set.jkt === undefined ? {} : { jkt: set.jkt }),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The access token of a hybrid session, refreshed shortly before it expires — once per session,
 * however many requests of it arrive together on however many gateway instances. Refresh tokens
 * rotate on every use and a reused one revokes the whole grant, so two refreshes of one session
 * would sign the user out: one instance takes a lock in the shared store and refreshes; the
 * others keep sending the current token while it is still valid, or wait for the new one.
 */
export class SessionTokens {
  readonly #provider: OidcProvider;
  readonly #manager: SessionManager<GatewaySessionData>;
  readonly #store: KeyValueStore;
  readonly #options: SessionTokensOptions;
  /** This instance's refreshes in flight, by session: requests of one session share one. */
  readonly #inFlight = new Map<string, Promise<string>>();

  constructor(
    provider: OidcProvider,
    manager: SessionManager<GatewaySessionData>,
    store: KeyValueStore,
    options: SessionTokensOptions,
  ) {
    this.#provider = provider;
    this.#manager = manager;
    this.#store = store;
    this.#options = options;
  }

  /** The session's tokens, opened. */
  #held(session: Session<GatewaySessionData>): HeldTokens {
    const tokens = session.data.oidc;
    if (tokens === undefined) throw new SessionError('ERR_SESSION_REQUIRED');
    return this.#options.vault.open(session.userId, tokens.sealed);
  }

  /** Whether this instance can send the access token: bound to its key (or unbound, without DPoP) and unexpired. */
  #usable(tokens: OidcSessionTokens, margin: number): boolean {
    return tokens.jkt === this.#options.jkt && this.#options.now() < tokens.accessExpiresAt - margin;
  }

  /** Whether the access token needs no refresh yet: usable, with more than the refresh margin left. */
  #fresh(tokens: OidcSessionTokens): boolean {
    return this.#usable(tokens, this.#options.refreshBeforeExpiryMs);
  }

  /** The access token to send upstream for the session whose cookie carries `id`. */
  accessToken(id: string, session: Session<GatewaySessionData>): Promise<string> | string {
    const tokens = session.data.oidc;
    if (tokens === undefined) throw new SessionError('ERR_SESSION_REQUIRED');
    if (this.#fresh(tokens)) return this.#held(session).accessToken;
    let pending = this.#inFlight.get(session.idHash);
    if (pending === undefined) {
      pending = this.#renew(id, session).finally(() => this.#inFlight.delete(session.idHash));
      this.#inFlight.set(session.idHash, pending);
    }
    return pending;
  }

  async #renew(id: string, seen: Session<GatewaySessionData>): Promise<string> {
    const { now, lockTtlMs } = this.#options;
    const lockKey = `oidc:lock:${seen.idHash}`;
    const owner = randomBytes(12).toString('base64url');
    const deadline = now() + lockTtlMs;
    // Discovery (and the JWKS) before the lock: the held section is then only the refresh itself.
    await this.#provider.discover().catch(() => undefined);
    let current = seen;
    for (;;) {
      const tokens = current.data.oidc;
      if (tokens === undefined) throw new SessionError('ERR_SESSION_REQUIRED');
      if (this.#fresh(tokens)) return this.#held(current).accessToken;
      if (await this.#store.compareAndSet(lockKey, null, owner, { ttlMs: lockTtlMs })) {
        try {
          return await this.#refreshHolding(id);
        } finally {
          // Released only if still ours: a lock that outlived its time may belong to another instance now.
          await this.#store.compareAndSet(lockKey, owner, 'released', { ttlMs: 1 }).catch(() => false);
        }
      }
      // Another instance is refreshing: the current token still works until it expires.
      if (this.#usable(tokens, 0)) return this.#held(current).accessToken;
      if (now() >= deadline)
        throw new GatewayError('ERR_TOKEN_SERVICE_UNAVAILABLE', 'the token refresh took too long');
      await sleep(POLL_MS);
      const fresh = await this.#manager.get(id);
      if (fresh === null) throw new SessionError('ERR_SESSION_REQUIRED');
      current = fresh;
    }
  }

  /** Ends a session whose grant cannot go on, and answers as for no session. */
  async #end(session: Session<GatewaySessionData>, why: string, level: 'info' | 'warn'): Promise<never> {
    this.#options.log[level]({ session: session.idHash.slice(0, 12) }, why);
    await this.#manager.destroy(session);
    throw new SessionError('ERR_SESSION_REQUIRED');
  }

  /** Holding the lock: read the session again (another instance may just have refreshed), then refresh. */
  async #refreshHolding(id: string): Promise<string> {
    const session = await this.#manager.get(id);
    if (session === null) throw new SessionError('ERR_SESSION_REQUIRED');
    const tokens = session.data.oidc;
    if (tokens === undefined) throw new SessionError('ERR_SESSION_REQUIRED');
    const held = this.#held(session);
    if (this.#fresh(tokens)) return held.accessToken;
    if (held.refreshToken === undefined) {
      if (this.#usable(tokens, 0)) return held.accessToken;
      await this.#manager.destroy(session);
      throw new SessionError('ERR_SESSION_REQUIRED');
    }
    let granted: Granted;
    try {
      granted = await this.#provider.refresh(held.refreshToken);
    } catch (error) {
      // The grant ended at the token service (revoked, expired, user disabled): so does the session.
      if (error instanceof GrantRefused && error.oauthError === 'invalid_grant')
        return this.#end(session, 'refresh refused: session ended', 'info');
      // OIDC Core 12.2: a refreshed ID token is checked like the first; one that fails ends the session.
      if (error instanceof GatewayError && error.code === 'ERR_SIGN_IN_FAILED')
        return this.#end(session, 'refresh answered an unusable ID token: session ended', 'warn');
      this.#options.log.warn(
        { code: error instanceof GrantRefused ? error.oauthError : (error as { code?: unknown }).code },
        'token refresh failed',
      );
      // A token service outage does not end the session: the token it has is good until it expires.
      if (this.#usable(tokens, 0)) return held.accessToken;
      throw error instanceof GatewayError ? error : new GatewayError('ERR_TOKEN_SERVICE_UNAVAILABLE');
    }
    const { tokens: set, claims } = granted;
    // A refreshed ID token names the same user as the first (OIDC Core 12.2).
    if (claims !== undefined && claims.sub !== session.userId)
      return this.#end(session, 'refresh answered an ID token of another user: session ended', 'warn');
    const next = tokensFrom(
      this.#options.vault,
      session.userId,
      set,
      { meta: tokens, held },
      // What the token service says of the user now (a changed name, email) replaces the sign-in's.
      claims === undefined ? {} : { claims: userClaimsOf(claims) },
    );
    await this.#manager.update(session, { oidc: next });
    return set.accessToken;
  }
}
