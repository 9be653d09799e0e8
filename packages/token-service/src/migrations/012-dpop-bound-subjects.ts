import type { Migration } from '@tessera/storage/sql';

/**
 * Token exchange of DPoP-bound subject tokens (RFC 8693 with RFC 9449): a client registered
 * `dpop_bound_subject_tokens` may exchange a token bound to a key other than its own, having
 * checked the holder's proof itself (the gateway at the edge, a service behind it). 0 for every
 * existing client.
 */
export const addDpopBoundSubjects: Migration = {
  name: '012-dpop-bound-subjects',
  async up(db) {
    await db.schema
      .alterTable('oauth_clients')
      .addColumn('dpop_bound_subject_tokens', 'integer', (column) => column.notNull().defaultTo(0))
      .execute();
  },
  async down(db) {
    await db.schema.alterTable('oauth_clients').dropColumn('dpop_bound_subject_tokens').execute();
  },
};
