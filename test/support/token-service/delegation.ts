import type { AccessTokenClaims } from '@tessera/core';
import { REVOCATION_TOPIC } from '@tessera/core';
import type { ClientRegistration } from '@tessera/token-service';
import * as oidc from 'openid-client';
import type { Harness } from './harness.js';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const FORM = 'application/x-www-form-urlencoded';

export const PAYMENTS_SECRET = 'payments-secret-0123456789abcdef-012345';
export const ANALYTICS_SECRET = 'analytics-secret-0123456789abcdef-01234';

/** The second hop of the shop's flow: payments calls the ledger on the user's behalf. */
export const payments: ClientRegistration = {
  client_id: 'payments',
  client_secret: PAYMENTS_SECRET,
  grant_types: ['client_credentials', TOKEN_EXCHANGE],
  scopes: ['ledger:write', 'ledger:read'],
  audiences: ['ledger'],
};

/** A confidential client that may not exchange tokens. */
export const analytics: ClientRegistration = {
  client_id: 'analytics',
  client_secret: ANALYTICS_SECRET,
  grant_types: ['client_credentials'],
  scopes: ['orders:read'],
  audiences: ['orders'],
};

export async function configure(
  harness: Harness,
  clientId: string,
  secret: string,
): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(harness.url), clientId, undefined, oidc.ClientSecretBasic(secret), {
    execute: [oidc.allowInsecureRequests],
  });
}

/**
 * An access token as the authorization_code grant issues it to the web client after alice signs
 * in (sub, sid, auth_time, aud = the services it calls), signed by the service's own signer.
 */
export function userToken(
  harness: Harness,
  overrides: Partial<AccessTokenClaims> = {},
  lifetime?: number,
): { token: string; jti: string; exp: number } {
  const ctx = harness.context;
  return ctx.accessTokens.issue(
    {
      subject: 'alice-sub',
      clientId: 'shop-web',
      audience: ['orders', 'inventory'],
      scopes: ['orders:read'],
      sessionId: 'sid-alice-1',
      authTime: Math.floor(ctx.now() / 1000) - 10,
      ...overrides,
    },
    lifetime === undefined ? {} : { lifetime },
  );
}

/** The claims of a JWS, without verifying it (the tests verify separately where it matters). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** Collects every message published on the revocation topic of the harness's channel. */
export async function recordRevocations(
  harness: Harness,
): Promise<{ messages: string[]; stop(): Promise<void> }> {
  const messages: string[] = [];
  const unsubscribe = await harness.context.channel.subscribe(REVOCATION_TOPIC, (message) => {
    messages.push(message);
  });
  return { messages, stop: async () => unsubscribe() };
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: Record<string, unknown>;
}

/** A raw form POST, for the malformed cases openid-client would refuse to send. */
export async function postForm(
  harness: Harness,
  path: string,
  body: string | URLSearchParams,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${harness.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': FORM, ...headers },
    body: body.toString(),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  if (text.length > 0) parsed = JSON.parse(text) as Record<string, unknown>;
  return { status: response.status, headers: response.headers, text, body: parsed };
}
