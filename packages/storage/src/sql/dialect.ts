import type { DatabaseIntrospector, Dialect, DialectAdapter, Driver, Kysely, QueryCompiler } from 'kysely';
import { type GuardOptions, guardDriver } from './driver.js';

/** A Kysely dialect whose driver maps unreachable-database failures to StorageError. */
export function guardedDialect(base: Dialect, options: GuardOptions): Dialect {
  return {
    createDriver: (): Driver => guardDriver(base.createDriver(), options),
    createQueryCompiler: (): QueryCompiler => base.createQueryCompiler(),
    createAdapter: (): DialectAdapter => base.createAdapter(),
    createIntrospector: (db: Kysely<unknown>): DatabaseIntrospector => base.createIntrospector(db),
  };
}
