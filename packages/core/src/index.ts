export { type AuditEvent, type AuditFields, type AuditLog, audit, auditing, sessionName } from './audit.js';
export { type BodyBounds, type BodyRead, readBody } from './body.js';
export { BoundedCache, type BoundedCacheOptions } from './bounded-cache.js';
export { withDeadline } from './deadline.js';
export { sha256Base64url } from './digest.js';
export { checkDpopBinding, refuseBoundBearer } from './dpop/binding.js';
export { normalizeHtu } from './dpop/htu.js';
export { DpopNonces, type DpopNoncesOptions } from './dpop/nonces.js';
export {
  type DpopProofInput,
  DpopProofSigner,
  type DpopProofSignerOptions,
  keptDpopNonce,
} from './dpop/signer.js';
export {
  createDpopProofVerifier,
  type DpopProofRequest,
  type DpopProofVerifier,
  type DpopProofVerifierOptions,
  type DpopReplayStore,
  defaultDpopAlgorithms,
  defaultDpopWindow,
  type VerifiedDpopProof,
} from './dpop/verify.js';
export * from './errors/index.js';
export { basicAuthorization } from './http/basic-auth.js';
export {
  type CookieAttributes,
  type CookieLookup,
  findCookie,
  relaxedCookies,
  type SameSite,
  serializeCookie,
} from './http/cookie.js';
export { type DiscoveryOptions, discoverIssuer, type IssuerMetadata, metadataUrl } from './http/discovery.js';
export {
  type OutboundMethod,
  type OutboundRequest,
  type OutboundResponse,
  outboundRequest,
} from './http/outbound.js';
export { redactUrl } from './http/redact.js';
export { type HttpRequestInfo, httpRequestInfo, type NodeRequestLike } from './http/request-info.js';
export {
  type IssuedToken,
  requestToken,
  type TokenEndpointOptions,
  type TokenRequestProofs,
} from './http/token-request.js';
export { type SigningAlgorithm, signingAlgorithms } from './keys/algorithms.js';
export type { JwksDocument, PublicJwk } from './keys/jwk.js';
export { KeySet, type KeySetEntry, type KeySetOptions, type KeyState } from './keys/key-set.js';
export type { KeySource, VerificationKey } from './keys/key-source.js';
export { RemoteJwksKeySource, type RemoteJwksOptions } from './keys/remote-jwks.js';
export {
  exportSigningKey,
  generateSigningKey,
  importSigningKey,
  type PrivateJwk,
  type SigningKey,
} from './keys/signing-key.js';
export { isLoopbackHost } from './loopback.js';
export {
  type MetricsExposure,
  type MetricsListener,
  type MetricsText,
  metricsAllowed,
  metricsExposureSchema,
  metricsOnPublicPort,
  metricsRefusal,
  startMetricsListener,
} from './metrics-exposure.js';
export { checkCertificateBinding } from './mtls/binding.js';
export {
  certificateThumbprint,
  type PeerCertificateSource,
  peerCertificateThumbprint,
} from './mtls/thumbprint.js';
export { isOAuthErrorCode, isScopeToken, toNqschar } from './oauth-syntax.js';
export {
  type EndpointAnswer,
  livenessAnswer,
  type MetricsEndpoint,
  metricsAnswer,
  type ObservabilityApp,
  type ObservabilityReply,
  type ObservabilityRequest,
  readinessAnswer,
  serveHealthEndpoints,
  serveMetricsEndpoint,
} from './observability-endpoints.js';
export type { Actor, CertificateBinding, DpopBinding, Principal, TokenBinding } from './principal.js';
export { RandomPool } from './random-pool.js';
export {
  checkReadiness,
  type DependencyState,
  defaultReadinessTimeoutMs,
  type ReadinessCheck,
  type ReadinessOptions,
  type ReadinessReport,
  readinessBody,
} from './readiness.js';
export {
  encodeRevocationEvent,
  parseRevocationEvent,
  REVOCATION_TOPIC,
  type RevocationEvent,
  type RevocationKind,
  revocationKinds,
} from './revocation.js';
export { SealedBox } from './sealed-box.js';
export { secretEquals } from './secret-compare.js';
export { escapeHtml, textTable } from './text.js';
export { freezePrincipal } from './token/claims.js';
export {
  defaultAlgorithms,
  defaultClockTolerance,
  defaultMaxTokenLength,
  maxClockTolerance,
  type VerifyAccessTokenOptions,
} from './token/options.js';
export type { AccessTokenClaims } from './token/payload.js';
export { type SignAccessTokenOptions, signAccessToken } from './token/sign.js';
export {
  AccessTokenSigner,
  type AccessTokenSignerOptions,
  defaultAccessTokenLifetime,
  type IssuedAccessToken,
  type IssueOptions,
} from './token/signer.js';
export {
  type AccessTokenVerifier,
  createAccessTokenVerifier,
  verifyAccessToken,
  verifyAccessTokenSync,
} from './token/verify.js';
export {
  endRequestTrace,
  endSpan,
  failSpan,
  inSpan,
  inSpanSync,
  recordStatus,
  startClientSpan,
  startRequestTrace,
  type TracedApp,
  type TracedReply,
  type TracedRequest,
  traceRequests,
  withTraceHeaders,
} from './tracing.js';
export { isTrustedProxyEntry } from './trusted-proxy.js';
