import { createHash, randomBytes } from 'node:crypto';
import type { DpopProofSigner } from '@tessera/core';
import { expect } from 'vitest';
import { Browser, signIn } from '../../../../test/support/browser.js';
import { SHOP_CLI_REDIRECT } from '../../src/dev/seed.js';

export interface CodeFlowOptions {
  /** The public client; default `shop-cli` (redirect `SHOP_CLI_REDIRECT`). */
  readonly clientId?: string;
  readonly scope?: string;
  /** Redeems the code with this key's proof, so the token is bound to it (DPoP). */
  readonly holder?: DpopProofSigner;
}

/** The authorization request of the dev system's command-line client, with a PKCE challenge of `verifier`. */
export function authorizeUrl(tokenService: string, verifier: string, options: CodeFlowOptions = {}): URL {
  const url = new URL(`${tokenService}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: options.clientId ?? 'shop-cli',
    redirect_uri: SHOP_CLI_REDIRECT,
    scope: options.scope ?? 'openid orders:read orders:write',
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  return url;
}

/** The code flow with PKCE as a command-line client drives it over HTTP: `username`'s access token. */
export async function codeFlowToken(
  tokenService: string,
  username: string,
  options: CodeFlowOptions = {},
): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const authorize = authorizeUrl(tokenService, verifier, options);
  const { location } = await signIn(new Browser(), authorize, username, `${username}-password`);
  const code = location.searchParams.get('code');
  expect(code).toBeTruthy();
  const tokenUrl = `${tokenService}/token`;
  const response = await fetch(tokenUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(options.holder === undefined
        ? {}
        : { dpop: options.holder.proof({ method: 'POST', url: tokenUrl }) }),
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code ?? '',
      redirect_uri: SHOP_CLI_REDIRECT,
      client_id: options.clientId ?? 'shop-cli',
      code_verifier: verifier,
    }).toString(),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/**
 * The page's "Sign in" at a hybrid gateway as a browser does it: `GET /auth/login`, the token
 * service's login form as `alice`, and back to `/auth/callback`. `callbackAt`: the origin to take
 * the callback to instead of the registered one (a second gateway behind the dev gateway's redirect URI).
 * The browser holds the session cookie; `callback` is the URL it took the code back to.
 */
export async function signInAtGateway(gateway: string, options: { readonly callbackAt?: string } = {}) {
  const browser = new Browser();
  const start = await browser.fetch(`${gateway}/auth/login`);
  expect(start.status).toBe(303);
  const { location } = await signIn(
    browser,
    start.headers.get('location') as string,
    'alice',
    'alice-password',
  );
  const callback =
    options.callbackAt === undefined
      ? location
      : new URL(`${location.pathname}${location.search}`, options.callbackAt);
  expect((await browser.fetch(callback)).status).toBe(303);
  return { browser, callback };
}
