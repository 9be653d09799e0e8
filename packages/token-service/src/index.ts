export { type AdminOptions, openClientRepository, openKeyManager } from './admin.js';
export { createTokenService, type TokenService } from './app.js';
export type { EndpointUrls } from './context.js';
export {
  TokenServiceError,
  type TokenServiceErrorCode,
  tokenServiceErrorCodes,
  tokenServiceErrorRegistry,
} from './errors.js';
export { type KeyInfo, KeyManager, type KeyManagerOptions } from './lib/key-manager.js';
export {
  OAuthError,
  type OAuthErrorCode,
  type OAuthWireError,
  oauthErrorCodes,
  oauthErrors,
} from './lib/oauth-error.js';
export type { PurgeCounts } from './lib/purge.js';
export { purgeExpiredRecords } from './maintenance.js';
export { migrateTokenService, TOKEN_SERVICE_NAMESPACE, tokenServiceMigrations } from './migrations/index.js';
export { listenMtlsAliases, type MtlsListener } from './mtls-listener.js';
export { openTokenService } from './open.js';
export type { MtlsAliasOptions, TlsOptions, TokenServiceOptions } from './options.js';
export {
  type ApplySeedOptions,
  applySeed,
  loadSeedFile,
  type Seed,
  type SeedResult,
  type SeedUser,
} from './seed.js';
export type { Client, GrantType, TokenEndpointAuthMethod } from './store/client.js';
export { type ClientRegistration, parseClientRegistration } from './store/client-registration.js';
export { ClientRepository, type ClientRepositoryOptions } from './store/clients.js';
