import type { Migration } from '@tessera/storage/sql';

export const createClients: Migration = {
  name: '001-clients',
  async up(db) {
    await db.schema
      .createTable('oauth_clients')
      .addColumn('client_id', 'varchar(255)', (column) => column.primaryKey())
      .addColumn('secret_hash', 'varchar(255)')
      .addColumn('name', 'text')
      .addColumn('redirect_uris', 'text', (column) => column.notNull())
      .addColumn('post_logout_redirect_uris', 'text', (column) => column.notNull())
      .addColumn('grant_types', 'text', (column) => column.notNull())
      .addColumn('scopes', 'text', (column) => column.notNull())
      .addColumn('audiences', 'text', (column) => column.notNull())
      .addColumn('first_party', 'integer', (column) => column.notNull().defaultTo(0))
      .addColumn('token_endpoint_auth_method', 'varchar(64)', (column) => column.notNull())
      .addColumn('token_endpoint_auth_signing_alg', 'varchar(16)')
      .addColumn('jwks', 'text')
      .addColumn('id_token_signed_response_alg', 'varchar(16)', (column) => column.notNull())
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('oauth_clients').execute();
  },
};
