import { type DiscoveryOptions, discoverIssuer, metadataUrl } from '@tessera/core';
import { ResourceError } from '../errors.js';

/**
 * The jwks_uri of the issuer's metadata (core's `discoverIssuer`: the document must name this
 * exact issuer, docs/security.md D76), or ERR_DISCOVERY_FAILED: a verifier refuses to start.
 */
export async function discoverJwksUri(issuer: string, options: DiscoveryOptions): Promise<string> {
  try {
    return metadataUrl(await discoverIssuer(issuer, options), 'jwks_uri');
  } catch (error) {
    throw new ResourceError('ERR_DISCOVERY_FAILED', 'the issuer metadata could not be used', {
      cause: error,
    });
  }
}
