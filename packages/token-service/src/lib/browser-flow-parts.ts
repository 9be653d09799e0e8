import { LoginRateLimiter, openUserDirectory } from '@tessera/identity';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { ServiceContext } from '../context.js';
import type { ResolvedOptions } from '../options.js';
import { AuthorizationCodeRepository } from '../store/authorization-codes.js';
import { DeviceCodeRepository } from '../store/device-codes.js';
import { GrantRepository } from '../store/grants.js';
import { RevocationRepository } from '../store/revocations.js';
import type { TokenServiceDatabase } from '../store/schema.js';
import { SealedInteractions } from './interaction.js';
import { createSsoSessions } from './sso.js';

type BrowserFlowParts = Pick<
  ServiceContext,
  'users' | 'sso' | 'interactions' | 'grants' | 'revocations' | 'codes' | 'devices' | 'deviceInteractions'
>;

/**
 * What the browser-facing OpenID Connect flow adds to the service context: the user directory
 * (with login rate limits in the service's store, so instances sharing Redis share the limits),
 * the SSO session manager, the sealed interactions and the grant, revocation and code repositories.
 */
export async function browserFlowParts(
  options: ResolvedOptions,
  db: Kysely<TokenServiceDatabase>,
  log: FastifyBaseLogger,
): Promise<BrowserFlowParts> {
  const users = await openUserDirectory({
    db: options.database,
    // The directory's default prefix, as the gateway's /auth/login uses: one budget per user on one store.
    rateLimiter: new LoginRateLimiter({ store: options.store, now: options.now }),
    now: () => new Date(options.now()),
    ...(options.deactivationPollMs === undefined ? {} : { deactivationPollMs: options.deactivationPollMs }),
    // Handing another process's deactivation to the service failed; the next poll tries again.
    onBackgroundError: (error) => log.error({ err: error }, 'user directory background work failed'),
  });
  const secureCookies = new URL(options.issuer).protocol === 'https:';
  return {
    users,
    sso: createSsoSessions({
      store: options.store,
      issuer: options.issuer,
      now: options.now,
      warn: (message) => log.warn(message),
    }),
    interactions: new SealedInteractions({ secret: options.secret, secure: secureCookies, now: options.now }),
    grants: new GrantRepository(db, options.now),
    revocations: new RevocationRepository(db, options.now),
    codes: new AuthorizationCodeRepository(db, options.now),
    devices: new DeviceCodeRepository(db, options.now),
    deviceInteractions: new SealedInteractions({
      secret: options.secret,
      secure: secureCookies,
      now: options.now,
      kind: 'device',
    }),
  };
}
