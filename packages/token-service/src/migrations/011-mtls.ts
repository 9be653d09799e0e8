import type { Migration } from '@tessera/storage/sql';

/**
 * Mutual TLS (RFC 8705): the certificate subject a `tls_client_auth` client is registered with
 * (which of the five metadata names, 2.1.2, and its value; NULL for every other client), whether
 * its access tokens are bound to its certificate (3.4; 0 for every existing client), and the
 * certificate thumbprint a public client's refresh token is bound to (4; NULL: not bound). One
 * ALTER per column: SQLite adds a single column at a time.
 */
export const addMtls: Migration = {
  name: '011-mtls',
  async up(db) {
    await db.schema.alterTable('oauth_clients').addColumn('tls_client_auth_field', 'varchar(40)').execute();
    await db.schema.alterTable('oauth_clients').addColumn('tls_client_auth_value', 'text').execute();
    await db.schema
      .alterTable('oauth_clients')
      .addColumn('tls_client_certificate_bound_access_tokens', 'integer', (column) =>
        column.notNull().defaultTo(0),
      )
      .execute();
    await db.schema.alterTable('oauth_refresh_tokens').addColumn('x5t_s256', 'varchar(64)').execute();
  },
  async down(db) {
    await db.schema.alterTable('oauth_refresh_tokens').dropColumn('x5t_s256').execute();
    await db.schema
      .alterTable('oauth_clients')
      .dropColumn('tls_client_certificate_bound_access_tokens')
      .execute();
    await db.schema.alterTable('oauth_clients').dropColumn('tls_client_auth_value').execute();
    await db.schema.alterTable('oauth_clients').dropColumn('tls_client_auth_field').execute();
  },
};
