import { ResourceError } from '../errors.js';
import { fetchJsonObject } from '../lib/http.js';

export interface DiscoveryOptions {
  readonly timeout: number;
  readonly maxBodyBytes: number;
}

/** An issuer's metadata document, its `issuer` checked; other members as the issuer sent them. */
export type IssuerMetadata = Readonly<Record<string, unknown>> & { readonly issuer: string };

/**
 * `${issuer}/.well-known/openid-configuration` (OpenID Connect Discovery 4). The document's
 * `issuer` must equal the configured one exactly, or the caller refuses to start
 * (docs/security.md D76): metadata naming another issuer could send every check elsewhere.
 */
export async function discoverIssuer(issuer: string, options: DiscoveryOptions): Promise<IssuerMetadata> {
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
  return Object.freeze(metadata) as IssuerMetadata;
}

/** An http(s) URL member of the metadata, or ERR_DISCOVERY_FAILED naming the member. */
export function metadataUrl(metadata: IssuerMetadata, member: string): string {
  const value = metadata[member];
  if (typeof value !== 'string' || !/^https?:\/\//.test(value)) {
    throw new ResourceError('ERR_DISCOVERY_FAILED', `the issuer metadata has no http(s) ${member}`);
  }
  return value;
}

/** The jwks_uri of the issuer's metadata (see `discoverIssuer`). */
export async function discoverJwksUri(issuer: string, options: DiscoveryOptions): Promise<string> {
  return metadataUrl(await discoverIssuer(issuer, options), 'jwks_uri');
}
