import type { webcrypto } from 'node:crypto';
import type { ClientRegistration } from '@tessera/token-service';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

export const ORDERS_SECRET = 'orders-secret-0123456789abcdef-0123456789';

/** A confidential client with a secret (client_secret_basic or _post). */
export const orders: ClientRegistration = {
  client_id: 'orders',
  client_secret: ORDERS_SECRET,
  grant_types: ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'],
  scopes: ['inventory:reserve', 'payments:charge'],
  audiences: ['inventory', 'payments', 'https://payments.example.com/api'],
};

/** A public client (no secret, PKCE). */
export const shopWeb: ClientRegistration = {
  client_id: 'shop-web',
  redirect_uris: ['http://127.0.0.1:8080/auth/callback'],
  grant_types: ['authorization_code', 'refresh_token'],
  scopes: ['openid', 'profile', 'email', 'orders:read'],
  audiences: ['orders', 'inventory'],
  first_party: true,
};

/** A confidential client registered only for authorization_code. */
export const reports: ClientRegistration = {
  client_id: 'reports',
  client_secret: 'reports-secret-0123456789abcdef-0123456789',
  redirect_uris: ['https://reports.example.com/callback'],
  grant_types: ['authorization_code'],
  scopes: ['openid'],
  audiences: ['orders'],
};

export interface KeyedClient {
  readonly registration: ClientRegistration;
  readonly privateKey: webcrypto.CryptoKey;
  /** A P-256 key also in the client's JWKS, so a signature with an unregistered alg can be tried. */
  readonly otherKey: webcrypto.CryptoKey;
}

/** A private_key_jwt client with an Ed25519 and a P-256 key, its assertions pinned to EdDSA. */
export async function billingClient(): Promise<KeyedClient> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  const other = await generateKeyPair('ES256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: 'billing-1', alg: 'EdDSA', use: 'sig' };
  const otherJwk: JWK = { ...(await exportJWK(other.publicKey)), kid: 'billing-2', use: 'sig' };
  return {
    privateKey,
    otherKey: other.privateKey,
    registration: {
      client_id: 'billing',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'EdDSA',
      jwks: { keys: [publicJwk, otherJwk] },
      grant_types: ['client_credentials'],
      scopes: ['payments:charge'],
      audiences: ['payments'],
    },
  };
}

export function basic(id: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}
