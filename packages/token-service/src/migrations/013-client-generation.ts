import type { Migration } from '@tessera/storage/sql';
import { sql } from 'kysely';

/**
 * The clients' generation: one row whose number every write to `oauth_clients` through
 * `ClientRepository` raises in the same transaction. An instance keeps every client it has read
 * until the number changes, and reads the number once per `clientCacheTtlMs`, so a change by
 * another process (the CLI, another instance) is still seen within that bound while a request no
 * longer reads its client from SQL each time its cache entry ages out.
 */
export const createClientGeneration: Migration = {
  name: '013-client-generation',
  async up(db) {
    await db.schema
      .createTable('oauth_client_generation')
      .addColumn('id', 'integer', (column) => column.primaryKey())
      .addColumn('generation', 'bigint', (column) => column.notNull())
      .execute();
    await sql`insert into oauth_client_generation (id, generation) values (1, 0)`.execute(db);
  },
  async down(db) {
    await db.schema.dropTable('oauth_client_generation').execute();
  },
};
