import { type Migration, type MigrationResult, migrate } from '@tessera/storage/sql';
import type { Kysely } from 'kysely';
import { createUsers } from './001-users.js';
import { createUserDeactivations } from './002-user-deactivations.js';

/** The namespace of this package's migrations in `tessera_migrations`. */
export const IDENTITY_NAMESPACE = 'identity';

/** Every migration of the user directory, oldest first. */
export const identityMigrations: readonly Migration[] = Object.freeze([createUsers, createUserDeactivations]);

/** Brings the user directory's tables up to date; safe to call at every start and from many instances. */
export function migrateIdentity<Schema>(db: Kysely<Schema>): Promise<MigrationResult> {
  return migrate(db, { namespace: IDENTITY_NAMESPACE, migrations: identityMigrations });
}
