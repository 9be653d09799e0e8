import * as publicApi from '@tessera/storage/sql';
import { describe, expect, expectTypeOf, it } from 'vitest';

// Imports by package name, as a user would: the `./sql` subpath of the exports map is the API.
describe('@tessera/storage/sql', () => {
  it('exports exactly the documented functions and constants', () => {
    expect(Object.keys(publicApi).sort()).toEqual([
      'HISTORY_TABLE',
      'createDatabase',
      'listAppliedMigrations',
      'migrate',
      'migrateDown',
      'parseDatabaseUrl',
      'probeDatabase',
    ]);
    expect(publicApi.HISTORY_TABLE).toBe('tessera_migrations');
  });

  it('types a migration written against the schema builder', () => {
    const migration: publicApi.Migration = {
      name: '001_example',
      async up(db) {
        await db.schema.createTable('example').addColumn('id', 'integer').execute();
      },
    };
    expectTypeOf(migration.up).parameter(0).toEqualTypeOf<publicApi.MigrationDatabase>();
    expectTypeOf(publicApi.migrate).returns.resolves.toEqualTypeOf<publicApi.MigrationResult>();
  });
});
