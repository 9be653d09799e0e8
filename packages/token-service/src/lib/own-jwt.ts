import type { KeySet } from '@tessera/core';
import { createLocalJWKSet, type JWTPayload, type JWTVerifyGetKey } from 'jose';

/**
 * A jose key resolver over the service's own public keys, rebuilt only when the key set object
 * changes (a reload or rotation), for verifying tokens this service signed (userinfo, logout hints).
 */
export function ownKeyResolver(keys: () => KeySet): () => JWTVerifyGetKey {
  let cachedFor: KeySet | undefined;
  let resolver: JWTVerifyGetKey | undefined;
  return () => {
    const current = keys();
    if (resolver === undefined || cachedFor !== current) {
      resolver = createLocalJWKSet(current.jwks() as unknown as Parameters<typeof createLocalJWKSet>[0]);
      cachedFor = current;
    }
    return resolver;
  };
}

export type { JWTPayload };
