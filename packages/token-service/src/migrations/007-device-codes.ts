import type { Migration } from '@tessera/storage/sql';

/**
 * Device authorization grants (RFC 8628): one row per /device_authorization request of an
 * authenticated client, keyed by the device code's SHA-256; the user code's hash is unique so the
 * user-code page finds it. The user's answer (approved with who signed in, or denied), the polling
 * interval (it grows on slow_down) and the one redemption (a conditional UPDATE) live here too.
 */
export const createDeviceCodes: Migration = {
  name: '007-device-codes',
  async up(db) {
    await db.schema
      .createTable('oauth_device_codes')
      .addColumn('device_code_hash', 'varchar(64)', (column) => column.primaryKey())
      .addColumn('user_code_hash', 'varchar(64)', (column) => column.notNull().unique())
      .addColumn('client_id', 'varchar(255)', (column) => column.notNull())
      .addColumn('scopes', 'text', (column) => column.notNull())
      .addColumn('audiences', 'text', (column) => column.notNull())
      .addColumn('interval_s', 'integer', (column) => column.notNull())
      .addColumn('last_polled_at', 'bigint')
      .addColumn('status', 'varchar(16)', (column) => column.notNull())
      .addColumn('user_id', 'varchar(255)')
      .addColumn('sid', 'varchar(128)')
      .addColumn('auth_time', 'bigint')
      .addColumn('grant_id', 'varchar(64)')
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('expires_at', 'bigint', (column) => column.notNull())
      .addColumn('consumed_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('oauth_device_codes_expires')
      .on('oauth_device_codes')
      .column('expires_at')
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('oauth_device_codes').execute();
  },
};
