import type { Migration } from '@tessera/storage/sql';

/**
 * The successor a refresh token was rotated into, sealed under a key derived from the rotated
 * token itself (so only its holder can open it), for the opt-in reuse grace: a confidential
 * client's concurrent refreshes get that same successor back. NULL when no grace applies.
 */
export const addRefreshSuccessor: Migration = {
  name: '006-refresh-successor',
  async up(db) {
    await db.schema.alterTable('oauth_refresh_tokens').addColumn('successor', 'text').execute();
  },
  async down(db) {
    await db.schema.alterTable('oauth_refresh_tokens').dropColumn('successor').execute();
  },
};
