import { unavailable } from './hybrid/failures.js';

/**
 * RFC 8705 5: where a client that binds its tokens to its certificate sends its token requests
 * (`hybrid.mtls`, `token.mtls`). An issuer without the alias, or with one off https, cannot bind
 * them: an outage (503), never a bearer token instead.
 */
export function mtlsTokenEndpoint(metadata: object): string {
  const aliases = (metadata as { readonly mtls_endpoint_aliases?: unknown }).mtls_endpoint_aliases;
  const alias =
    typeof aliases === 'object' && aliases !== null
      ? (aliases as { readonly token_endpoint?: unknown }).token_endpoint
      : undefined;
  if (typeof alias !== 'string')
    throw unavailable('the metadata has no mtls_endpoint_aliases.token_endpoint');
  // Mutual TLS is TLS: an alias off https would present no certificate at all.
  if (!alias.startsWith('https:')) throw unavailable('mtls_endpoint_aliases.token_endpoint is not https');
  return alias;
}
