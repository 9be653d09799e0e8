import { sql } from 'kysely';
import type { Migration } from '../../src/sql/index.js';

/** Migrations written once with the schema builder, run unchanged on SQLite and PostgreSQL. */
export function accountMigrations(calls: string[] = []): Migration[] {
  return [
    {
      name: '001_accounts',
      async up(db) {
        calls.push('001_accounts');
        await db.schema
          .createTable('accounts')
          .addColumn('id', 'integer', (col) => col.primaryKey())
          .addColumn('email', 'varchar(255)', (col) => col.notNull().unique())
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('accounts').execute();
      },
    },
    {
      name: '002_sessions',
      async up(db) {
        calls.push('002_sessions');
        await db.schema
          .createTable('sessions')
          .addColumn('id', 'varchar(64)', (col) => col.primaryKey())
          .addColumn('account_id', 'integer', (col) =>
            col.notNull().references('accounts.id').onDelete('cascade'),
          )
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('sessions').execute();
      },
    },
    {
      name: '003_display_name',
      async up(db) {
        calls.push('003_display_name');
        await db.schema.alterTable('accounts').addColumn('display_name', 'varchar(100)').execute();
        await db
          .insertInto('accounts')
          .values({ id: 1, email: 'admin@example.com', display_name: 'Admin' })
          .execute();
      },
      async down(db) {
        await db.deleteFrom('accounts').where('id', '=', 1).execute();
        await db.schema.alterTable('accounts').dropColumn('display_name').execute();
      },
    },
  ];
}

/** Creates a table, then fails: the table must not survive. */
export const failingMigration: Migration = {
  name: '004_half_done',
  async up(db) {
    await db.schema.createTable('half_done').addColumn('id', 'integer').execute();
    await db.insertInto('half_done').values({ id: 1 }).execute();
    await sql`select * from table_that_does_not_exist`.execute(db);
  },
};

export const laterMigration: Migration = {
  name: '005_later',
  async up(db) {
    await db.schema.createTable('later').addColumn('id', 'integer').execute();
  },
};
