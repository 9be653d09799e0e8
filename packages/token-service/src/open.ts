import { migrateIdentity } from '@tessera/identity';
import { createTokenService, type TokenService } from './app.js';
import { migrateTokenService } from './migrations/index.js';
import type { TokenServiceOptions } from './options.js';

/**
 * Migrates the database (the `identity` and `token-service` namespaces) and builds the service:
 * what `tessera token-service` runs at start. Safe from many instances at once.
 */
export async function openTokenService(options: TokenServiceOptions): Promise<TokenService> {
  await migrateIdentity(options.database);
  await migrateTokenService(options.database);
  return createTokenService(options);
}
