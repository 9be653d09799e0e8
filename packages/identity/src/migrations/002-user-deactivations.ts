import type { Migration } from '@tessera/storage/sql';

/**
 * Every disable and delete, written in the same transaction as the change itself, so the services
 * of other processes (the token service, the gateway) learn of a deactivation made by `tessera
 * users disable` or another instance, and end that user's sessions too.
 */
export const createUserDeactivations: Migration = {
  name: '002_user_deactivations',
  async up(db) {
    await db.schema
      .createTable('user_deactivations')
      .addColumn('id', 'varchar(36)', (col) => col.primaryKey())
      .addColumn('user_id', 'varchar(36)', (col) => col.notNull())
      .addColumn('reason', 'varchar(16)', (col) => col.notNull())
      .addColumn('created_at', 'varchar(32)', (col) => col.notNull())
      .execute();
    await db.schema
      .createIndex('user_deactivations_created_at_idx')
      .on('user_deactivations')
      .columns(['created_at', 'id'])
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('user_deactivations').execute();
  },
};
