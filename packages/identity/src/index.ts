export {
  type AddressClaim,
  MAX_CLAIMS_BYTES,
  type StandardClaimScope,
  standardClaimsByScope,
  standardClaimsForScope,
  type UserClaims,
  validateClaims,
} from './claims.js';
export {
  type AuthenticateInput,
  type ListOptions,
  openUserDirectory,
  type User,
  type UserDeactivatedEvent,
  type UserDeactivatedListener,
  UserDirectory,
  type UserDirectoryOptions,
  type UserPage,
} from './directory.js';
export {
  IdentityError,
  type IdentityErrorCode,
  type IdentityErrorOptions,
  INVALID_CREDENTIALS_MESSAGE,
  identityErrorCodes,
  identityErrorRegistry,
} from './errors.js';
export { IDENTITY_NAMESPACE, identityMigrations, migrateIdentity } from './migrations/index.js';
export {
  type Argon2Parameters,
  createPasswordHasher,
  normalizePassword,
  owaspArgon2Parameters,
  type PasswordHasher,
  type PasswordHasherOptions,
} from './password.js';
export {
  type BackoffPolicy,
  defaultAddressPolicy,
  defaultUsernamePolicy,
  type LoginAttempt,
  type LoginAttemptSubject,
  LoginRateLimiter,
  type LoginRateLimiterOptions,
  normalizeAddress,
} from './rate-limit.js';
export type { IdentitySchema, UsersTable } from './schema.js';
export { MAX_USERNAME_LENGTH, usernameKey, validateUsername } from './username.js';
