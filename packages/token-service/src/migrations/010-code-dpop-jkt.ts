import type { Migration } from '@tessera/storage/sql';

/**
 * DPoP authorization code binding (RFC 9449 10): the key thumbprint an authorization request named
 * in `dpop_jkt`, which the code's redemption at /token must prove (NULL: the code is not bound).
 */
export const addCodeDpopJkt: Migration = {
  name: '010-code-dpop-jkt',
  async up(db) {
    await db.schema.alterTable('oauth_authorization_codes').addColumn('dpop_jkt', 'varchar(64)').execute();
  },
  async down(db) {
    await db.schema.alterTable('oauth_authorization_codes').dropColumn('dpop_jkt').execute();
  },
};
