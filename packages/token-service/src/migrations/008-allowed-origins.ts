import type { Migration } from '@tessera/storage/sql';

/** Each client's registered web origins (CORS), a JSON list; none for every existing client. */
export const addAllowedOrigins: Migration = {
  name: '008-allowed-origins',
  async up(db) {
    await db.schema
      .alterTable('oauth_clients')
      .addColumn('allowed_origins', 'text', (column) => column.notNull().defaultTo('[]'))
      .execute();
  },
  async down(db) {
    await db.schema.alterTable('oauth_clients').dropColumn('allowed_origins').execute();
  },
};
