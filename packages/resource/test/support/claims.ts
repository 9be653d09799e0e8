// The claims the resource tests start from (alice, calling orders through the web client); the
// token bytes are built by root test/support/craft.ts.
export function claims(
  issuer: string,
  nowSeconds: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    iss: issuer,
    sub: 'alice',
    aud: 'orders',
    exp: nowSeconds + 300,
    iat: nowSeconds,
    jti: 'jti-1',
    client_id: 'web',
    scope: 'orders:read',
    auth_time: nowSeconds - 10,
    ...extra,
  };
}
