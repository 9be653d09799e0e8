import type { KeySource, OutboundRequest } from '@tessera/core';
import { HttpError } from '@tessera/core';
import { PolicyRefusal } from '@tessera/resource';
import { type Session, SessionError } from '@tessera/session';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteConfig } from '../../config.js';
import { GatewayError } from '../../errors.js';
import { sendSignInFailurePage, wantsHtml } from '../../page/failure.js';
import type { GatewayDpopKey } from '../dpop.js';
import { EdgeExchange } from '../exchange.js';
import type { GatewaySessionData, SessionMode } from '../session.js';
import type { LogoutClaims } from './jwt-checks.js';
import { type HybridConfig, OidcProvider } from './provider.js';
import { SessionIndex } from './session-index.js';
import { SignIn } from './sign-in.js';
import { SessionTokens } from './tokens.js';
import { type HeldTokens, TokenVault } from './vault.js';

export interface HybridMode {
  readonly provider: OidcProvider;
  /**
   * The `Authorization` header to send upstream (the session's access token), with the gateway's
   * proof for `upstreamUrl` when the tokens are DPoP-bound, or throws the refusal.
   */
  authorize(
    request: FastifyRequest,
    reply: FastifyReply,
    route: RouteConfig,
    upstreamUrl: string,
  ): Promise<Record<string, string>>;
  /** GET /auth/login, GET /auth/callback and POST /auth/backchannel-logout. */
  register(app: FastifyInstance): void;
  /**
   * Ends a hybrid session's grant at the token service (its refresh token revoked) and returns
   * where the browser should go to end the token service's own session, when that is configured.
   */
  logout(session: Session<GatewaySessionData>): Promise<string | undefined>;
}

export interface HybridModeOptions {
  /** This gateway's client secret at the token service (from the environment). */
  readonly clientSecret: string;
  readonly keys?: KeySource;
  readonly now: () => number;
  readonly log: FastifyBaseLogger;
  /** The absolute session lifetime, for how long the token service's session ids stay indexed. */
  readonly sessionLifetimeMs: number;
  /** `hybrid.dpop`: the gateway's key, which the session's tokens are bound to. */
  readonly dpop?: GatewayDpopKey;
  /** `hybrid.mtls`: connections presenting the gateway's certificate, which the session's tokens are bound to. */
  readonly mtls?: OutboundRequest['dispatcher'];
}

const csrfHeader = 'x-csrf-token';

export function createHybridMode(
  config: HybridConfig,
  sessions: SessionMode,
  options: HybridModeOptions,
): HybridMode {
  const { dpop, mtls } = options;
  const provider = new OidcProvider(config, {
    clientSecret: options.clientSecret,
    now: options.now,
    ...(options.keys === undefined ? {} : { keys: options.keys }),
    ...(dpop === undefined ? {} : { dpop: dpop.key }),
    ...(mtls === undefined ? {} : { mtls }),
  });
  const vault = new TokenVault(options.clientSecret);
  const index = new SessionIndex(sessions.store, options.sessionLifetimeMs);
  const signIn = new SignIn(provider, sessions, {
    secret: options.clientSecret,
    vault,
    now: options.now,
    loginTimeoutMs: config.loginTimeoutSeconds * 1000,
    index,
  });
  // The token endpoint the sign-in already discovered: no second discovery of the same issuer.
  const exchange = new EdgeExchange({
    tokenEndpoint: () => provider.tokenEndpoint(),
    clientId: config.clientId,
    clientSecret: options.clientSecret,
    timeoutMs: config.timeoutMs,
    now: options.now,
    ...(dpop === undefined ? {} : { dpop: dpop.signer }),
    // The token endpoint is then the mTLS alias: what the edge exchanges is bound to the certificate too.
    ...(mtls === undefined ? {} : { dispatcher: mtls }),
  });
  const tokens = new SessionTokens(provider, sessions.manager, sessions.store, {
    vault,
    refreshBeforeExpiryMs: config.refreshBeforeExpirySeconds * 1000,
    // Longer than the held section can take (a session read, the token request, a session write,
    // each bounded), short enough that a crashed holder does not stall a session for long.
    lockTtlMs: config.timeoutMs + 2 * sessions.manager.options.storeTimeoutMs + 3_000,
    now: options.now,
    log: options.log,
    ...(dpop === undefined ? {} : { jkt: dpop.key.kid }),
  });

  async function endSessions(sub: string | undefined, sid: string | undefined): Promise<number> {
    if (sid === undefined) return sub === undefined ? 0 : sessions.manager.destroyAllForUser(sub);
    let ended = 0;
    for (const { userId, idHash } of await index.sessionsOf(sid)) {
      // A logout token naming both must agree: another user's session is never ended by it.
      if (sub !== undefined && userId !== sub) continue;
      if (await sessions.manager.destroyHandle(userId, idHash)) ended++;
    }
    await index.forget(sid);
    return ended;
  }

  return {
    provider,
    async authorize(request, reply, route, upstreamUrl) {
      const session = await sessions.load(request, reply);
      const current = session.require();
      const csrf = request.headers[csrfHeader];
      session.checkCsrf(typeof csrf === 'string' ? csrf : undefined);
      const held = current.data.oidc;
      // A session from form login holds no token: it cannot be used on a hybrid route.
      if (held === undefined) throw new SessionError('ERR_SESSION_REQUIRED');
      if (route.scopes !== undefined && route.scopes.length > 0) {
        const granted = new Set(held.scope.split(' '));
        const missing = route.scopes.filter((scope) => !granted.has(scope));
        if (missing.length > 0)
          throw new PolicyRefusal(`the session lacks scope ${missing.join(' ')}`, missing);
      }
      const id = sessions.idOf(request);
      if (id === undefined) throw new SessionError('ERR_SESSION_REQUIRED');
      const access = await tokens.accessToken(id, current);
      const outgoing = route.exchange === undefined ? access : await exchange.tokenFor(route, access);
      // Bearer, or (hybrid.mtls) bound to the certificate the upstream connection presents.
      if (dpop === undefined) return { authorization: `Bearer ${outgoing}` };
      // Bound to the gateway's key, so sent on as it is with the gateway's proof for this request.
      return {
        ...dpop.signer.requestHeaders({ method: request.method, url: upstreamUrl, accessToken: outgoing }),
      };
    },
    register(app) {
      // A browser that navigated here ends on a page with the reason and a way back, not JSON.
      const inBrowser =
        (step: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>) =>
        async (request: FastifyRequest, reply: FastifyReply) => {
          try {
            return await step(request, reply);
          } catch (error) {
            if (!wantsHtml(request)) throw error;
            return sendSignInFailurePage(request, reply, error);
          }
        };
      app.get(
        '/auth/login',
        inBrowser((request, reply) => signIn.start(request, reply)),
      );
      app.get(
        '/auth/callback',
        inBrowser((request, reply) => signIn.finish(request, reply)),
      );
      // OpenID Connect Back-Channel Logout 1.0, 2.5-2.8: a form POST from the token service.
      app.post('/auth/backchannel-logout', async (request, reply) => {
        reply.header('cache-control', 'no-store');
        const body = request.body as Record<string, unknown> | undefined;
        const token = body?.logout_token;
        if (typeof token !== 'string' || token.length === 0 || token.length > 16_384) {
          throw new HttpError('ERR_HTTP_REQUEST_INVALID', 'send a logout_token form field');
        }
        let claims: LogoutClaims;
        try {
          claims = await provider.verifyLogoutToken(token);
        } catch (error) {
          if (error instanceof GatewayError && error.code === 'ERR_SIGN_IN_FAILED') {
            throw new HttpError('ERR_HTTP_REQUEST_INVALID', error.message, { expose: true });
          }
          throw error;
        }
        // A logout token works once (2.6 step 10 allows refusing a replayed jti).
        const jtiKey = `oidc:jti:${claims.jti}`;
        const fresh = await sessions.store.compareAndSet(jtiKey, null, '1', {
          ttlMs: Math.max(60_000, claims.expiresAt - options.now() + 60_000),
        });
        if (!fresh)
          throw new HttpError('ERR_HTTP_REQUEST_INVALID', 'this logout token was already used', {
            expose: true,
          });
        let ended: number;
        try {
          ended = await endSessions(claims.sub, claims.sid);
        } catch (error) {
          // Not done: the token service may send it again, and then it must not count as a replay.
          await sessions.store.delete(jtiKey).catch(() => false);
          throw error;
        }
        request.log.info({ ended }, 'back-channel logout');
        return reply.code(200).send();
      });
    },
    async logout(session) {
      const meta = session.data.oidc;
      if (meta === undefined) return undefined;
      let held: HeldTokens;
      try {
        held = vault.open(session.userId, meta.sealed);
      } catch {
        // Tokens that no longer open (the client secret changed) cannot be revoked; they expire.
        return provider.endSessionUrl().catch(() => undefined);
      }
      const revocations = [provider.revoke(held.accessToken, 'access_token').catch(() => false)];
      if (held.refreshToken !== undefined) {
        revocations.push(provider.revoke(held.refreshToken, 'refresh_token').catch(() => false));
      }
      // The session ends here regardless; an unrevoked grant expires with its refresh token.
      if ((await Promise.all(revocations)).includes(false)) {
        options.log.warn('logout: a token could not be revoked at the token service');
      }
      return provider.endSessionUrl().catch(() => undefined);
    },
  };
}
