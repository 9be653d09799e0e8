// Run in a child process by sql-concurrency.test.ts: one migration runner on a shared SQLite file.
import { createDatabase, type Migration, migrate } from '../../src/sql/index.js';

const [filename, runner] = process.argv.slice(2);
if (filename === undefined || runner === undefined) throw new Error('usage: migrate-child <file> <runner>');

const migrations: Migration[] = ['m0', 'm1', 'm2', 'm3', 'm4'].map((name) => ({
  name,
  async up(db) {
    if (name === 'm0') {
      await db.schema
        .createTable('migration_log')
        .addColumn('name', 'varchar(32)', (c) => c.notNull())
        .addColumn('runner', 'varchar(32)', (c) => c.notNull())
        .execute();
    }
    // Hold the write lock a little so the other process has to wait for it.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await db.insertInto('migration_log').values({ name, runner }).execute();
  },
}));

const db = await createDatabase({ dialect: 'sqlite', filename });
try {
  const result = await migrate(db, { namespace: 'race', migrations });
  process.stdout.write(JSON.stringify(result.names));
} finally {
  await db.destroy();
}
