import type { Migration } from '@tessera/storage/sql';

/**
 * Grants (one per user authorization of a client; the id is also the refresh-token family),
 * their refresh tokens and access-token jtis (so revoking a grant can publish every live jti),
 * and authorization codes. Tokens and codes are stored as SHA-256 hashes only.
 */
export const createGrantsAndCodes: Migration = {
  name: '003-grants-and-codes',
  async up(db) {
    await db.schema
      .createTable('oauth_grants')
      .addColumn('id', 'varchar(64)', (column) => column.primaryKey())
      .addColumn('user_id', 'varchar(255)', (column) => column.notNull())
      .addColumn('client_id', 'varchar(255)', (column) => column.notNull())
      .addColumn('scopes', 'text', (column) => column.notNull())
      .addColumn('audiences', 'text', (column) => column.notNull())
      .addColumn('sid', 'varchar(128)')
      .addColumn('auth_time', 'bigint', (column) => column.notNull())
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('expires_at', 'bigint', (column) => column.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema.createIndex('oauth_grants_user').on('oauth_grants').column('user_id').execute();
    await db.schema.createIndex('oauth_grants_sid').on('oauth_grants').column('sid').execute();

    await db.schema
      .createTable('oauth_refresh_tokens')
      .addColumn('token_hash', 'varchar(64)', (column) => column.primaryKey())
      .addColumn('grant_id', 'varchar(64)', (column) => column.notNull())
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('expires_at', 'bigint', (column) => column.notNull())
      .addColumn('rotated_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('oauth_refresh_tokens_grant')
      .on('oauth_refresh_tokens')
      .column('grant_id')
      .execute();

    await db.schema
      .createTable('oauth_grant_access_tokens')
      .addColumn('jti', 'varchar(64)', (column) => column.primaryKey())
      .addColumn('grant_id', 'varchar(64)', (column) => column.notNull())
      .addColumn('expires_at', 'bigint', (column) => column.notNull())
      .execute();
    await db.schema
      .createIndex('oauth_grant_access_tokens_grant')
      .on('oauth_grant_access_tokens')
      .column('grant_id')
      .execute();

    await db.schema
      .createTable('oauth_authorization_codes')
      .addColumn('code_hash', 'varchar(64)', (column) => column.primaryKey())
      .addColumn('grant_id', 'varchar(64)', (column) => column.notNull())
      .addColumn('client_id', 'varchar(255)', (column) => column.notNull())
      .addColumn('redirect_uri', 'text', (column) => column.notNull())
      .addColumn('code_challenge', 'varchar(128)')
      .addColumn('nonce', 'text')
      .addColumn('expires_at', 'bigint', (column) => column.notNull())
      .addColumn('consumed_at', 'bigint')
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('oauth_authorization_codes').execute();
    await db.schema.dropTable('oauth_grant_access_tokens').execute();
    await db.schema.dropTable('oauth_refresh_tokens').execute();
    await db.schema.dropTable('oauth_grants').execute();
  },
};
