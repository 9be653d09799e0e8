import { createHmac } from 'node:crypto';

/** The ports of the parts, on 127.0.0.1. */
export interface DevPorts {
  readonly tokenService: number;
  readonly gateway: number;
  readonly orders: number;
  readonly inventory: number;
  readonly payments: number;
}

/**
 * Where each part answers: http on 127.0.0.1 at its port. With mutual TLS (`tessera dev --mtls`)
 * the shop's services are https; the gateway and the token service's issuer, which a browser
 * reaches, stay http (the token service's mutual TLS has a listener of its own).
 */
export function devUrls(ports: DevPorts, mtls = false): { readonly [part in keyof DevPorts]: string } {
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const service = (port: number) => `${mtls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    tokenService: url(ports.tokenService),
    gateway: url(ports.gateway),
    orders: service(ports.orders),
    inventory: service(ports.inventory),
    payments: service(ports.payments),
  };
}

export const defaultDevPorts: DevPorts = Object.freeze({
  tokenService: 9000,
  gateway: 8080,
  orders: 8101,
  inventory: 8102,
  payments: 8103,
});

export const devUsers = Object.freeze([
  { username: 'alice', password: 'alice-password' },
  { username: 'bob', password: 'bob-password' },
]);

/** What a signed-in shopper's front end may ask for: the same for the CLI, the page and the gateway. */
const SHOPPER_SCOPES = ['openid', 'profile', 'orders:read', 'orders:write', 'inventory:read'] as const;

/** The public client for scripts and command-line tools in token mode. */
export const SHOP_CLI_REDIRECT = 'http://127.0.0.1:8765/callback';
export const SHOP_CLI_SCOPES = SHOPPER_SCOPES;

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * A secret derived from the service secret for one purpose, so the development system keeps one
 * secret file and every other secret (client secrets, the session-reference key) follows from it.
 */
export function derivedSecret(serviceSecret: string, purpose: string): string {
  return createHmac('sha256', serviceSecret).update(`tessera dev: ${purpose}`).digest('base64url');
}

/** What the gateway may ask for in hybrid mode: what a signed-in shopper's page needs. */
export const GATEWAY_SCOPES = SHOPPER_SCOPES;

/** A client's secret in the development system, derived from the service secret. */
export function devClientSecret(serviceSecret: string, clientId: string): string {
  return derivedSecret(serviceSecret, `client ${clientId}`);
}

/** The public client the gateway's page signs in as in token mode (code + PKCE in the browser). */
export const SHOP_WEB_CLIENT = 'shop-web';
export const SHOP_WEB_SCOPES = SHOPPER_SCOPES;
/** The page's callback path at the gateway (`PAGE_CALLBACK_PATH` of @tessera/gateway). */
export const SHOP_WEB_CALLBACK_PATH = '/_tessera/callback';

/**
 * The seed file `tessera dev` writes and applies (the shape of `tessera token-service --seed`).
 * `gatewayUrl` is where the gateway's sign-in comes back to (its registered redirect URI).
 */
export function devSeed(
  serviceSecret: string,
  gatewayUrl: string,
  options: { readonly dpop?: boolean; readonly mtls?: boolean } = {},
) {
  const secretOf = (clientId: string) => devClientSecret(serviceSecret, clientId);
  // DPoP: the gateway exchanges the tokens of the token routes (theirs then name it), and it and
  // orders exchange tokens bound to their callers' keys, having checked those proofs themselves.
  // Mutual TLS: orders exchanges the session's tokens, bound to the gateway's certificate.
  const dpop = options.dpop === true;
  const mtls = options.mtls === true;
  // With either binding, token mode's gateway exchanges every user token, so those name it too.
  const userAudiences = dpop || mtls ? ['orders', 'inventory', 'gateway'] : ['orders', 'inventory'];
  return {
    clients: [
      {
        client_id: 'gateway',
        client_name: 'Tessera shop (the gateway, hybrid mode)',
        client_secret: secretOf('gateway'),
        redirect_uris: [`${gatewayUrl}/auth/callback`],
        post_logout_redirect_uris: [`${gatewayUrl}/`],
        backchannel_logout_uri: `${gatewayUrl}/auth/backchannel-logout`,
        backchannel_logout_session_required: true,
        grant_types:
          dpop || mtls
            ? ['authorization_code', 'refresh_token', TOKEN_EXCHANGE]
            : ['authorization_code', 'refresh_token'],
        scopes: [...GATEWAY_SCOPES],
        audiences: ['orders', 'inventory'],
        first_party: true,
        ...(dpop ? { dpop_bound_subject_tokens: true } : {}),
        // With mutual TLS, the session's tokens (hybrid.mtls) and what token mode exchanges
        // (token.mtls) are bound to the gateway's certificate: it still proves itself by its
        // secret, and takes them over its certificate (RFC 8705 3).
        ...(mtls ? { tls_client_certificate_bound_access_tokens: true } : {}),
      },
      {
        client_id: 'orders',
        client_name: 'orders service',
        // With mutual TLS, orders proves itself by the certificate of the development CA naming
        // it (RFC 8705 2.1), and every token it gets is bound to that certificate (3).
        ...(mtls
          ? {
              token_endpoint_auth_method: 'tls_client_auth' as const,
              tls_client_auth_subject_dn: 'CN=orders',
              tls_client_certificate_bound_access_tokens: true,
            }
          : { client_secret: secretOf('orders') }),
        grant_types: ['client_credentials', TOKEN_EXCHANGE],
        scopes: ['inventory:reserve', 'payments:charge'],
        audiences: ['inventory', 'payments'],
        // It exchanges what its caller's key or certificate is bound to, having checked that binding.
        ...(dpop || mtls ? { dpop_bound_subject_tokens: true } : {}),
      },
      {
        client_id: 'inventory',
        client_name: 'inventory service',
        client_secret: secretOf('inventory'),
        grant_types: ['client_credentials'],
      },
      {
        client_id: 'payments',
        client_name: 'payments service',
        client_secret: secretOf('payments'),
        grant_types: ['client_credentials'],
      },
      {
        client_id: 'shop-cli',
        client_name: 'shop command-line tools',
        token_endpoint_auth_method: 'none',
        redirect_uris: [SHOP_CLI_REDIRECT],
        // `tessera login` (the loopback redirect) and `tessera login --device` (RFC 8628).
        grant_types: ['authorization_code', 'refresh_token', DEVICE_CODE],
        scopes: [...SHOP_CLI_SCOPES],
        audiences: userAudiences,
        first_party: true,
      },
      {
        // The gateway's page in token mode: a browser application at the gateway's origin, so the
        // token service answers CORS for that origin only; no refresh token (tokens live in memory).
        client_id: SHOP_WEB_CLIENT,
        client_name: 'Tessera shop (the page, token mode)',
        token_endpoint_auth_method: 'none',
        redirect_uris: [`${gatewayUrl}${SHOP_WEB_CALLBACK_PATH}`],
        post_logout_redirect_uris: [`${gatewayUrl}/`],
        allowed_origins: [gatewayUrl],
        grant_types: ['authorization_code'],
        scopes: [...SHOP_WEB_SCOPES],
        audiences: userAudiences,
        first_party: true,
      },
    ],
    users: devUsers.map((user) => ({ ...user })),
  };
}
