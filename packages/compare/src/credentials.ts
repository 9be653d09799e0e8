import { createHash, randomBytes } from 'node:crypto';
import { DpopProofSigner, keptDpopNonce, requestToken, type TokenRequestProofs } from '@tessera/core';
import type { Credential } from './load.js';

/** The public client a script signs in with in token mode (seeded by the dev system). */
export interface PublicClient {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scope: string;
}

export interface User {
  readonly username: string;
  readonly password: string;
}

/** A credential and what it is made of, for revocation and the survivor check. */
export interface SignedIn extends Credential {
  readonly kind: 'cookie' | 'bearer' | 'dpop';
  /** The cookie header, or the access token (DPoP: bound to the caller's key, useless without it). */
  readonly secret: string;
  readonly csrf?: string;
}

/**
 * A cookie jar and fetch that never follows a redirect: enough of a browser for the login form.
 * Cookies are not kept per port, as a browser does not keep them per port either. The shared
 * test harness (root test/support/browser.ts) drives the login forms with this one too.
 */
export class Browser {
  readonly cookies = new Map<string, string>();

  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', this.cookieHeader());
    const response = await fetch(url, {
      ...init,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (attributes.some((a) => /^\s*max-age=0$/i.test(a)) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** POSTs a form (application/x-www-form-urlencoded) to `action`, resolved against `base`. */
  post(base: string | URL, action: string, fields: Record<string, string>): Promise<Response> {
    return this.fetch(new URL(action, base), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

export interface ParsedForm {
  readonly action: string;
  readonly fields: Record<string, string>;
}

const unescapeHtml = (value: string): string =>
  value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#96;/g, '`')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The first form of a page: its action and its hidden fields, unescaped. */
export function parseForm(html: string): ParsedForm {
  const form = /<form method="post" action="([^"]*)">/.exec(html);
  if (form === null) throw new Error('no form on the page');
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[match[1] as string] = unescapeHtml(match[2] as string);
  }
  return { action: unescapeHtml(form[1] as string), fields };
}

/** GETs the token service's authorization page, fills in its login form, and returns the redirect. */
async function signInAtTokenService(browser: Browser, authorizeUrl: string, user: User): Promise<URL> {
  const page = await browser.fetch(authorizeUrl);
  if (page.status !== 200) throw new Error(`sign-in: /authorize answered ${page.status}`);
  const { action, fields } = parseForm(await page.text());
  const response = await browser.post(authorizeUrl, action, {
    ...fields,
    username: user.username,
    password: user.password,
    action: 'login',
  });
  const location = response.headers.get('location');
  if (location === null) throw new Error(`sign-in: the login form answered ${response.status}`);
  return new URL(location, authorizeUrl);
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function cookieCredential(home: number, cookie: string, csrf: string): SignedIn {
  return {
    kind: 'cookie',
    home,
    secret: cookie,
    csrf,
    headers: (method) => (UNSAFE.has(method) ? { cookie, 'x-csrf-token': csrf } : { cookie }),
  };
}

async function csrfOf(gateway: string, cookie: string): Promise<string> {
  const me = await fetch(`${gateway}/auth/me`, { headers: { cookie }, signal: AbortSignal.timeout(10_000) });
  if (me.status !== 200) throw new Error(`sign-in: /auth/me answered ${me.status}`);
  return ((await me.json()) as { csrf_token: string }).csrf_token;
}

/** Session mode: the gateway's own login. */
export async function sessionSignIn(gateway: string, home: number, user: User): Promise<SignedIn> {
  const browser = new Browser();
  const login = await browser.fetch(`${gateway}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(user),
  });
  if (login.status !== 204) throw new Error(`sign-in: /auth/login answered ${login.status}`);
  const cookie = browser.cookieHeader();
  return cookieCredential(home, cookie, await csrfOf(gateway, cookie));
}

/** Hybrid mode: the gateway sends the browser to the token service and takes it back. */
export async function hybridSignIn(gateway: string, home: number, user: User): Promise<SignedIn> {
  const browser = new Browser();
  const start = await browser.fetch(`${gateway}/auth/login`);
  const authorize = start.headers.get('location');
  if (start.status !== 303 || authorize === null)
    throw new Error(`sign-in: /auth/login answered ${start.status}`);
  const callback = await signInAtTokenService(browser, authorize, user);
  const back = await browser.fetch(callback);
  if (back.status !== 303) throw new Error(`sign-in: the callback answered ${back.status}`);
  const cookie = [...browser.cookies]
    .filter(([name]) => name.includes('sid'))
    .map(([n, v]) => `${n}=${v}`)
    .join('; ');
  const header = cookie === '' ? browser.cookieHeader() : cookie;
  return cookieCredential(home, header, await csrfOf(gateway, header));
}

/** Token mode: the authorization code flow with PKCE as a public client, as a command-line tool does. */
export async function tokenSignIn(
  issuer: string,
  client: PublicClient,
  home: number,
  user: User,
): Promise<SignedIn> {
  const token = await authorizationCodeToken(issuer, client, user, undefined);
  return { kind: 'bearer', home, secret: token, headers: () => ({ authorization: `Bearer ${token}` }) };
}

/**
 * Token-dpop mode: the same sign-in, the token request carrying a proof of a key made for this
 * caller, so the token is bound to it (`cnf.jkt`, RFC 9449 5); every request then carries
 * `Authorization: DPoP` and a fresh proof for its method, URL and token (`ath`), with the last
 * `DPoP-Nonce` a server sent when it asks for nonces.
 */
export async function dpopTokenSignIn(
  issuer: string,
  client: PublicClient,
  home: number,
  user: User,
): Promise<SignedIn> {
  const signer = await DpopProofSigner.generate();
  const proofs: DpopProofs = { signer, nonce: undefined };
  const token = await authorizationCodeToken(issuer, client, user, proofs);
  return {
    kind: 'dpop',
    home,
    secret: token,
    headers: (method, url) => ({
      ...signer.requestHeaders({
        method,
        url,
        accessToken: token,
        ...(proofs.nonce === undefined ? {} : { nonce: proofs.nonce }),
      }),
    }),
    answered: (status, header) => {
      const nonce = keptDpopNonce(header('dpop-nonce'));
      const fresh = nonce !== undefined && nonce !== proofs.nonce;
      if (fresh) proofs.nonce = nonce;
      // RFC 9449 9: a 401 `use_dpop_nonce` is answered by signing again with the nonce it carries.
      return fresh && status === 401 && /error="use_dpop_nonce"/.test(header('www-authenticate') ?? '');
    },
  };
}

/** A caller's DPoP key and the last nonce a server handed it (the token service or a gateway). */
type DpopProofs = TokenRequestProofs;

/** The code flow with PKCE up to the access token; with `proofs`, the token request proves the key. */
async function authorizationCodeToken(
  issuer: string,
  client: PublicClient,
  user: User,
  proofs: DpopProofs | undefined,
): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL(`${issuer}/authorize`);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    scope: client.scope,
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const location = await signInAtTokenService(new Browser(), authorize.toString(), user);
  const code = location.searchParams.get('code');
  if (code === null) throw new Error('sign-in: no code in the redirect');
  // Core's token-endpoint client, as every service's exchanger uses it: a public client (client_id
  // in the form), the DPoP nonce kept and a `use_dpop_nonce` answer retried once (RFC 9449 8; that
  // answer does not use the code up), and only a DPoP-bound token taken to a proof.
  const issued = await requestToken(
    {
      url: `${issuer}/token`,
      clientId: client.clientId,
      timeout: 10_000,
      now: Date.now,
      ...(proofs === undefined ? {} : { dpop: proofs }),
      failure: (message, cause) => new Error(`sign-in: ${message}`, { cause }),
    },
    {
      grant_type: 'authorization_code',
      code,
      redirect_uri: client.redirectUri,
      code_verifier: verifier,
    },
  );
  return issued.token;
}
