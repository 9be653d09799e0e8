import * as publicApi from '@tessera/identity';
import { describe, expect, expectTypeOf, it } from 'vitest';

// Imports by package name, as a user would: the exports map is the whole API.
describe('@tessera/identity', () => {
  it('exports exactly the documented values', () => {
    expect(Object.keys(publicApi).sort()).toEqual([
      'IDENTITY_NAMESPACE',
      'INVALID_CREDENTIALS_MESSAGE',
      'IdentityError',
      'LoginRateLimiter',
      'MAX_CLAIMS_BYTES',
      'MAX_USERNAME_LENGTH',
      'UserDirectory',
      'createPasswordHasher',
      'defaultAddressPolicy',
      'defaultUsernamePolicy',
      'identityErrorCodes',
      'identityErrorRegistry',
      'identityMigrations',
      'migrateIdentity',
      'normalizeAddress',
      'normalizePassword',
      'openUserDirectory',
      'owaspArgon2Parameters',
      'standardClaimsByScope',
      'standardClaimsForScope',
      'usernameKey',
      'validateClaims',
      'validateUsername',
    ]);
    expect(publicApi.IDENTITY_NAMESPACE).toBe('identity');
  });

  it('types authenticate and its error', () => {
    expectTypeOf<publicApi.UserDirectory['authenticate']>().returns.resolves.toEqualTypeOf<publicApi.User>();
    expectTypeOf<publicApi.IdentityError['code']>().toEqualTypeOf<publicApi.IdentityErrorCode>();
    expectTypeOf<publicApi.IdentityError['retryAfterSeconds']>().toEqualTypeOf<number | undefined>();
  });
});
