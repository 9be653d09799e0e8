import type { Migration } from '@tessera/storage/sql';

export const createUsers: Migration = {
  name: '001_users',
  async up(db) {
    await db.schema
      .createTable('users')
      .addColumn('id', 'varchar(36)', (col) => col.primaryKey())
      .addColumn('username', 'varchar(255)', (col) => col.notNull())
      .addColumn('username_key', 'varchar(255)', (col) => col.notNull())
      .addColumn('password_hash', 'varchar(512)', (col) => col.notNull())
      .addColumn('claims', 'text', (col) => col.notNull())
      .addColumn('disabled', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('created_at', 'varchar(32)', (col) => col.notNull())
      .addColumn('updated_at', 'varchar(32)', (col) => col.notNull())
      .addUniqueConstraint('users_username_key_uq', ['username_key'])
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('users').execute();
  },
};
