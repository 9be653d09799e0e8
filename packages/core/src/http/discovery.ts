import { OutboundError } from '../errors/outbound.js';
import { fetchJsonObject } from './outbound.js';

export interface DiscoveryOptions {
  /** Deadline in ms for the metadata fetch, headers and body. */
  readonly timeout: number;
  /** Largest metadata document accepted, in bytes. */
  readonly maxBodyBytes: number;
}

/** An issuer's metadata document, its `issuer` checked; other members as the issuer sent them. */
export type IssuerMetadata = Readonly<Record<string, unknown>> & { readonly issuer: string };

/**
 * `${issuer}/.well-known/openid-configuration` (OpenID Connect Discovery 4). The document's
 * `issuer` must equal the configured one exactly (docs/security.md D76): metadata naming another
 * issuer could send every check elsewhere. Rejects with an OutboundError (the caller refuses to
 * start, or retries later).
 */
export async function discoverIssuer(issuer: string, options: DiscoveryOptions): Promise<IssuerMetadata> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const metadata = await fetchJsonObject(url, options);
  if (metadata.issuer !== issuer) {
    throw new OutboundError('ERR_OUTBOUND_INVALID_ANSWER', 'the issuer metadata names another issuer');
  }
  return Object.freeze(metadata) as IssuerMetadata;
}

/** An http(s) URL member of the metadata, or ERR_OUTBOUND_INVALID_ANSWER naming the member. */
export function metadataUrl(metadata: IssuerMetadata, member: string): string {
  const value = metadata[member];
  if (typeof value !== 'string' || !/^https?:\/\//.test(value)) {
    throw new OutboundError('ERR_OUTBOUND_INVALID_ANSWER', `the issuer metadata has no http(s) ${member}`);
  }
  return value;
}
