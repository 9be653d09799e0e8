import type { Migration } from '@tessera/storage/sql';
import { sql } from 'kysely';

export const createSigningKeys: Migration = {
  name: '002-signing-keys',
  async up(db) {
    await db.schema
      .createTable('oauth_signing_keys')
      .addColumn('kid', 'varchar(128)', (column) => column.primaryKey())
      .addColumn('alg', 'varchar(16)', (column) => column.notNull())
      .addColumn('state', 'varchar(16)', (column) => column.notNull())
      .addColumn('encrypted_jwk', 'text', (column) => column.notNull())
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('retire_until', 'bigint')
      .execute();
    // At most one active key per algorithm, enforced by the database: two instances creating
    // keys at their first start at the same moment cannot both win.
    await db.schema
      .createIndex('oauth_signing_keys_one_active')
      .on('oauth_signing_keys')
      .column('alg')
      .unique()
      .where(sql.ref('state'), '=', 'active')
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('oauth_signing_keys').execute();
  },
};
