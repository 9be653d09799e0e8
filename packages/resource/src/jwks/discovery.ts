import { ResourceError } from '../errors.js';
import { fetchJsonObject } from '../lib/http.js';

export interface DiscoveryOptions {
  readonly timeout: number;
  readonly maxBodyBytes: number;
}

/**
 * The jwks_uri from `${issuer}/.well-known/openid-configuration` (OpenID Connect Discovery 4).
 * The document's `issuer` must equal the configured one exactly and `jwks_uri` must be an
 * http(s) URL, or the service refuses to start (SECURITY-CASES D 76).
 */
export async function discoverJwksUri(issuer: string, options: DiscoveryOptions): Promise<string> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let metadata: Record<string, unknown>;
  try {
    metadata = await fetchJsonObject(url, options);
  } catch (error) {
    throw new ResourceError('ERR_DISCOVERY_FAILED', 'the issuer metadata could not be fetched', {
      cause: error,
    });
  }
  if (metadata.issuer !== issuer) {
    throw new ResourceError('ERR_DISCOVERY_FAILED', 'the issuer metadata names another issuer');
  }
  const { jwks_uri: jwksUri } = metadata;
  if (typeof jwksUri !== 'string' || !/^https?:\/\//.test(jwksUri)) {
    throw new ResourceError('ERR_DISCOVERY_FAILED', 'the issuer metadata has no http(s) jwks_uri');
  }
  return jwksUri;
}
