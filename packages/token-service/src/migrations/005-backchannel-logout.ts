import type { Migration } from '@tessera/storage/sql';

/**
 * OpenID Connect Back-Channel Logout 1.0 client metadata: where the client receives Logout Tokens
 * and whether it needs `sid` in them. One ALTER per column: SQLite adds a single column at a time.
 */
export const addBackchannelLogout: Migration = {
  name: '005-backchannel-logout',
  async up(db) {
    await db.schema.alterTable('oauth_clients').addColumn('backchannel_logout_uri', 'text').execute();
    await db.schema
      .alterTable('oauth_clients')
      .addColumn('backchannel_logout_session_required', 'integer', (column) => column.notNull().defaultTo(0))
      .execute();
  },
  async down(db) {
    await db.schema.alterTable('oauth_clients').dropColumn('backchannel_logout_session_required').execute();
    await db.schema.alterTable('oauth_clients').dropColumn('backchannel_logout_uri').execute();
  },
};
