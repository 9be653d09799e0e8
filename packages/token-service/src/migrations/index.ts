import { type Migration, type MigrationResult, migrate } from '@tessera/storage/sql';
import type { Kysely } from 'kysely';
import { createClients } from './001-clients.js';
import { createSigningKeys } from './002-signing-keys.js';
import { createRevokedTokens } from './004-revoked-tokens.js';
import { addBackchannelLogout } from './005-backchannel-logout.js';
import { addRefreshSuccessor } from './006-refresh-successor.js';
import { createDeviceCodes } from './007-device-codes.js';
import { addAllowedOrigins } from './008-allowed-origins.js';
import { addDpop } from './009-dpop.js';
import { addCodeDpopJkt } from './010-code-dpop-jkt.js';
import { addMtls } from './011-mtls.js';
import { addDpopBoundSubjects } from './012-dpop-bound-subjects.js';
import { createClientGeneration } from './013-client-generation.js';
import { createGrantsAndCodes } from './grants-and-codes.js';

/** The namespace of the token service's migrations in `tessera_migrations`. */
export const TOKEN_SERVICE_NAMESPACE = 'token-service';

/** Every migration, oldest first. To add a table, APPEND a file and an entry; never edit an earlier one. */
export const tokenServiceMigrations: readonly Migration[] = Object.freeze([
  createClients,
  createSigningKeys,
  createGrantsAndCodes,
  createRevokedTokens,
  addBackchannelLogout,
  addRefreshSuccessor,
  createDeviceCodes,
  addAllowedOrigins,
  addDpop,
  addCodeDpopJkt,
  addMtls,
  addDpopBoundSubjects,
  createClientGeneration,
]);

/** Brings the token service's own tables up to date; safe at every start and from many instances. */
export function migrateTokenService<Schema>(db: Kysely<Schema>): Promise<MigrationResult> {
  return migrate(db, { namespace: TOKEN_SERVICE_NAMESPACE, migrations: tokenServiceMigrations });
}
