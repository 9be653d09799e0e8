import type { Migration } from '@tessera/storage/sql';

/**
 * The revocation list of access tokens: a row per revoked `jti`, kept until the token's own expiry
 * (after which the token is refused anyway) and then purged. Introspection and token exchange read
 * it; resource servers learn of the same revocations from the events on the channel.
 */
export const createRevokedTokens: Migration = {
  name: '004-revoked-tokens',
  async up(db) {
    await db.schema
      .createTable('oauth_revoked_tokens')
      .addColumn('jti', 'varchar(128)', (column) => column.primaryKey())
      // Epoch ms: the token's exp.
      .addColumn('until', 'bigint', (column) => column.notNull())
      .addColumn('revoked_at', 'bigint', (column) => column.notNull())
      .execute();
    await db.schema
      .createIndex('oauth_revoked_tokens_until')
      .on('oauth_revoked_tokens')
      .column('until')
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('oauth_revoked_tokens').execute();
  },
};
