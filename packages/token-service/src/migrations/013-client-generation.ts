import type { Migration } from '@tessera/storage/sql';
import { sql } from 'kysely';

/**
 * The clients' generation: one row whose number every write to `oauth_clients` through
 * `ClientRepository` raises in the same transaction, and a row per raise naming the client written
 * (kept a day). An instance keeps every client it has read until it is written, reading the number
 * once per `clientCacheTtlMs` and, when it moved, the clients written since; so a change by another
 * process (the CLI, another instance) is still seen within that bound while a request no longer
 * reads its client from SQL each time its cache entry ages out.
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
    await db.schema
      .createTable('oauth_client_changes')
      .addColumn('generation', 'bigint', (column) => column.primaryKey())
      .addColumn('client_id', 'varchar(255)', (column) => column.notNull())
      .addColumn('changed_at', 'bigint', (column) => column.notNull())
      .execute();
    await db.schema
      .createIndex('oauth_client_changes_changed_at')
      .on('oauth_client_changes')
      .column('changed_at')
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('oauth_client_changes').execute();
    await db.schema.dropTable('oauth_client_generation').execute();
  },
};
