export { enforce, PolicyRefusal } from './authorize/decide.js';
export {
  allOf,
  anyOf,
  type DelegationRequirement,
  type Policy,
  type Predicate,
  predicate,
  type Refusal,
  requireAudience,
  requireClient,
  requireDelegation,
  requireScope,
} from './authorize/policy.js';
export {
  createServiceClient,
  createTokenExchanger,
  type ForwardableCredential,
  type ServiceCallInit,
  type ServiceClientOptions,
  type ServiceFetch,
  type TokenExchanger,
  type TokenExchangerOptions,
} from './client/service-client.js';
export {
  ResourceError,
  type ResourceErrorCode,
  resourceErrorCodes,
  resourceErrorRegistry,
} from './errors.js';
export { type BearerOptions, bearer } from './identity/bearer.js';
export { BearerCredential } from './identity/bearer-credential.js';
export { readBearerToken } from './identity/bearer-header.js';
export { type DpopSourceOptions, dpop } from './identity/dpop.js';
export type { Authenticated, Credential, IdentitySource, RequestLike } from './identity/types.js';
export { isClientPrincipal, isUserPrincipal } from './principal.js';
export { DenyList, type DenyListOptions } from './revocation/deny-list.js';
export {
  type RevocationChannel,
  type Revocations,
  type RevocationsOptions,
  subscribeRevocations,
} from './revocation/subscribe.js';
export type { JwksOptions, VerifierOptions } from './verify/options.js';
export { createVerifier, type Verifier } from './verify/verifier.js';
