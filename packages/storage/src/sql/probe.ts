import { type Kysely, sql } from 'kysely';

/**
 * Resolves when the database answers `select 1`, rejects as the driver rejects: the one readiness
 * probe of a SQL database. The caller bounds it (core's checkReadiness).
 */
export async function probeDatabase(db: Kysely<unknown>): Promise<void> {
  await sql`select 1`.execute(db);
}
