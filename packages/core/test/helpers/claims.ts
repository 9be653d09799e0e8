// The claims core's verification tests start from; the token bytes are built by root
// test/support/craft.ts.
export const issuer = 'https://issuer.test';
export const audience = 'orders';

/** Claims of a valid access token at `nowSeconds`. */
export function validClaims(
  nowSeconds: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    iss: issuer,
    sub: 'user-1',
    aud: audience,
    exp: nowSeconds + 300,
    iat: nowSeconds,
    jti: 'jti-1',
    client_id: 'web',
    scope: 'orders:read orders:write',
    ...extra,
  };
}
