import type { Migration } from '@tessera/storage/sql';

/**
 * DPoP (RFC 9449): a client whose access tokens must all be bound (`dpop_bound_access_tokens`,
 * 5.2; 0 for every existing client), and the key thumbprint a public client's refresh token is
 * bound to (5; NULL: not bound). One ALTER per column: SQLite adds a single column at a time.
 */
export const addDpop: Migration = {
  name: '009-dpop',
  async up(db) {
    await db.schema
      .alterTable('oauth_clients')
      .addColumn('dpop_bound_access_tokens', 'integer', (column) => column.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable('oauth_refresh_tokens').addColumn('dpop_jkt', 'varchar(64)').execute();
  },
  async down(db) {
    await db.schema.alterTable('oauth_refresh_tokens').dropColumn('dpop_jkt').execute();
    await db.schema.alterTable('oauth_clients').dropColumn('dpop_bound_access_tokens').execute();
  },
};
