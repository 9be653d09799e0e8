import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateSigningKey, KeySet } from '@tessera/core';
import { type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcProvider } from '../src/auth/hybrid/provider.js';
import { parseGatewayConfig } from '../src/index.js';

// The checks of the two JWTs the token service sends the gateway, with tokens crafted here: the
// real token service only ever issues good ones (test/hybrid.test.ts), so every refusal is made
// to happen on purpose. Keys are given in-process; the token service is a tiny server with
// discovery and a token endpoint that answers what the test says, so each ID token goes the way a
// real one does: through openid-client's code or refresh grant, then the gateway's own checks.

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const NONCE = 'nonce-0123456789';
const ACCESS_TOKEN = 'an-access-token';
const STATE = 'state-0123456789';
const VERIFIER = 'verifier-0123456789-0123456789-0123456789-0123';
const REDIRECT_URI = 'http://127.0.0.1:8080/auth/callback';

let server: Server;
let issuer: string;
let provider: OidcProvider;
const keys = new KeySet();
/** What the token endpoint answers next: a status, and a body (JSON unless a string). */
let tokenAnswer: { status: number; body: unknown } = { status: 500, body: '' };
/** The issuer the metadata names, when not the real one. */
let namedIssuer: string | undefined;
/** The last token request: its Authorization header and form. */
let tokenRequest: { authorization: string | undefined; form: URLSearchParams } | undefined;

function answerTokens(idToken: string | undefined, accessToken = ACCESS_TOKEN): void {
  tokenAnswer = {
    status: 200,
    body: {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: 300,
      ...(idToken === undefined ? {} : { id_token: idToken }),
    },
  };
}

/**
 * An ID token through the gateway's provider: with a nonce, as the answer to a sign-in's code
 * (the nonce the sign-in sent); without, as the answer to a refresh. The claims, or the refusal.
 */
async function verifyIdToken(idToken: string, nonce: string | undefined, accessToken: string) {
  answerTokens(idToken, accessToken);
  if (nonce === undefined) {
    const { claims } = await provider.refresh('a-refresh-token');
    if (claims === undefined) throw new Error('the refresh gave no claims');
    return claims;
  }
  const { claims } = await provider.exchangeCode({
    query: new URLSearchParams({ code: 'a-code', state: STATE }),
    state: STATE,
    nonce,
    verifier: VERIFIER,
  });
  return claims;
}

beforeAll(async () => {
  keys.add(await generateSigningKey('RS256'), 'active');
  keys.add(await generateSigningKey('EdDSA'), 'active');
  server = createServer((request, response) => {
    if (request.url === '/.well-known/openid-configuration') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          issuer: namedIssuer ?? issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          id_token_signing_alg_values_supported: ['RS256', 'EdDSA'],
        }),
      );
      return;
    }
    if (request.url === '/token' && request.method === 'POST') {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => {
        body += chunk;
      });
      request.on('end', () => {
        tokenRequest = { authorization: request.headers.authorization, form: new URLSearchParams(body) };
        const { status, body: answer } = tokenAnswer;
        response
          .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(typeof answer === 'string' ? answer : JSON.stringify(answer));
      });
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = parseGatewayConfig({
    session: {},
    hybrid: {
      issuer,
      clientId: 'gateway',
      redirectUri: REDIRECT_URI,
      scopes: ['openid'],
    },
    routes: [{ prefix: '/h', upstream: 'http://127.0.0.1:1', auth: 'hybrid' }],
  });
  provider = new OidcProvider(config.hybrid as NonNullable<typeof config.hybrid>, {
    clientSecret: 'the-client-secret',
    keys,
    now: Date.now,
  });
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function atHash(token: string, alg: 'RS256' | 'EdDSA'): string {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256')
    .update(token)
    .digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

async function sign(
  claims: JWTPayload,
  header: { alg?: 'RS256' | 'EdDSA'; typ?: string | undefined } = {},
  signingKeys = keys,
): Promise<string> {
  const alg = header.alg ?? 'RS256';
  const key = signingKeys.activeKey(alg);
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid: key.kid, ...(header.typ === undefined ? {} : { typ: header.typ }) })
    .sign(key.privateKey);
}

const now = () => Math.floor(Date.now() / 1000);

/** Claims with `overrides` applied; an override of undefined removes the claim. */
type Overrides = Record<string, unknown>;

function withOverrides(base: JWTPayload, overrides: Overrides): JWTPayload {
  const claims: Record<string, unknown> = { ...base, ...overrides };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return claims as JWTPayload;
}

function idClaims(overrides: Overrides = {}): JWTPayload {
  return withOverrides(
    {
      iss: issuer,
      aud: 'gateway',
      sub: 'alice',
      iat: now(),
      exp: now() + 300,
      nonce: NONCE,
      at_hash: atHash(ACCESS_TOKEN, 'RS256'),
    },
    overrides,
  );
}

function logoutClaims(overrides: Overrides = {}): JWTPayload {
  return withOverrides(
    {
      iss: issuer,
      aud: 'gateway',
      sub: 'alice',
      sid: 'sid-1',
      iat: now(),
      exp: now() + 120,
      jti: randomBytes(8).toString('hex'),
      events: { [EVENT]: {} },
    },
    overrides,
  );
}

const refusal = { code: 'ERR_SIGN_IN_FAILED' };

describe('ID token checks (OpenID Connect Core 3.1.3.7)', () => {
  it('accepts a good one, RS256 and EdDSA, with its at_hash', async () => {
    const claims = await verifyIdToken(await sign(idClaims(), { typ: 'JWT' }), NONCE, ACCESS_TOKEN);
    expect(claims.sub).toBe('alice');
    const ed = await sign(idClaims({ at_hash: atHash(ACCESS_TOKEN, 'EdDSA') }), { alg: 'EdDSA' });
    expect((await verifyIdToken(ed, NONCE, ACCESS_TOKEN)).sub).toBe('alice');
    // A refresh's ID token carries no nonce, and none is asked for.
    const refreshed = await sign(idClaims({ nonce: undefined }));
    expect((await verifyIdToken(refreshed, undefined, ACCESS_TOKEN)).sub).toBe('alice');
  });

  const strangerKeys = new KeySet();
  const cases: [string, () => Promise<string>, string?][] = [
    ['another nonce', () => sign(idClaims({ nonce: 'other' }))],
    ['no nonce at sign-in', () => sign(idClaims({ nonce: undefined }))],
    ['another issuer', () => sign(idClaims({ iss: 'https://evil.example' }))],
    ['another audience', () => sign(idClaims({ aud: 'someone-else' }))],
    ['several audiences without azp', () => sign(idClaims({ aud: ['gateway', 'other'] }))],
    ['an azp naming another party', () => sign(idClaims({ azp: 'other' }))],
    ['expired', () => sign(idClaims({ iat: now() - 900, exp: now() - 600 }))],
    ['no exp', () => sign(idClaims({ exp: undefined }))],
    ['no subject', () => sign(idClaims({ sub: undefined }))],
    ['a wrong at_hash', () => sign(idClaims({ at_hash: atHash('another-token', 'RS256') }))],
    ['typ at+jwt (an access token)', () => sign(idClaims(), { typ: 'at+jwt' })],
    ['typ logout+jwt (a logout token)', () => sign(idClaims(), { typ: 'logout+jwt' })],
    [
      'a key the token service does not have',
      async () => {
        strangerKeys.add(await generateSigningKey('RS256'), 'active');
        return sign(idClaims(), {}, strangerKeys);
      },
    ],
    [
      'alg none',
      async () => {
        const [, payload] = (await sign(idClaims())).split('.');
        return `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
      },
    ],
    [
      'HS256 with the public key as the secret (key confusion)',
      async () => {
        const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        return new SignJWT(idClaims())
          .setProtectedHeader({ alg: 'HS256', kid: keys.activeKey('RS256').kid })
          .sign(new TextEncoder().encode(publicKey.export({ type: 'spki', format: 'pem' }).toString()));
      },
    ],
    ['not a JWT', async () => 'garbage'],
  ];
  for (const [name, make] of cases) {
    it(`refuses ${name}`, async () => {
      await expect(verifyIdToken(await make(), NONCE, ACCESS_TOKEN)).rejects.toMatchObject(refusal);
    });
  }
});

describe('logout token checks (Back-Channel Logout 1.0, 2.6)', () => {
  it('accepts a good one, naming sid, sub or both', async () => {
    const claims = await provider.verifyLogoutToken(await sign(logoutClaims(), { typ: 'logout+jwt' }));
    expect(claims).toMatchObject({ sub: 'alice', sid: 'sid-1' });
    const bySid = await sign(logoutClaims({ sub: undefined }), { typ: 'logout+jwt' });
    expect((await provider.verifyLogoutToken(bySid)).sub).toBeUndefined();
  });

  const cases: [string, () => Promise<string>][] = [
    ['typ JWT (an ID token)', () => sign(logoutClaims(), { typ: 'JWT' })],
    ['no typ', () => sign(logoutClaims())],
    ['no events', () => sign(logoutClaims({ events: undefined }), { typ: 'logout+jwt' })],
    ['an event of null', () => sign(logoutClaims({ events: { [EVENT]: null } }), { typ: 'logout+jwt' })],
    ['another event only', () => sign(logoutClaims({ events: { 'urn:other': {} } }), { typ: 'logout+jwt' })],
    ['a nonce', () => sign(logoutClaims({ nonce: 'x' }), { typ: 'logout+jwt' })],
    ['no jti', () => sign(logoutClaims({ jti: undefined }), { typ: 'logout+jwt' })],
    ['no exp', () => sign(logoutClaims({ exp: undefined }), { typ: 'logout+jwt' })],
    [
      'neither sub nor sid',
      () => sign(logoutClaims({ sub: undefined, sid: undefined }), { typ: 'logout+jwt' }),
    ],
    ['another audience', () => sign(logoutClaims({ aud: 'other' }), { typ: 'logout+jwt' })],
    ['another issuer', () => sign(logoutClaims({ iss: 'https://evil.example' }), { typ: 'logout+jwt' })],
    ['expired', () => sign(logoutClaims({ iat: now() - 900, exp: now() - 600 }), { typ: 'logout+jwt' })],
  ];
  for (const [name, make] of cases) {
    it(`refuses ${name}`, async () => {
      await expect(provider.verifyLogoutToken(await make())).rejects.toMatchObject(refusal);
    });
  }
});

describe('the issuer', () => {
  it('is exactly the configured one: metadata naming another, even an equivalent URL, is refused', async () => {
    const config = parseGatewayConfig({
      session: {},
      hybrid: { issuer, clientId: 'gateway', redirectUri: REDIRECT_URI, scopes: ['openid'] },
      routes: [{ prefix: '/h', upstream: 'http://127.0.0.1:1', auth: 'hybrid' }],
    });
    const params = { state: STATE, nonce: NONCE, codeChallenge: 'x'.repeat(43) };
    try {
      for (const named of [`${issuer}/`, 'https://evil.example']) {
        namedIssuer = named;
        const fresh = new OidcProvider(config.hybrid as NonNullable<typeof config.hybrid>, {
          clientSecret: 'the-client-secret',
          keys,
          now: Date.now,
        });
        await expect(fresh.authorizationUrl(params), named).rejects.toMatchObject({
          code: 'ERR_TOKEN_SERVICE_UNAVAILABLE',
        });
      }
    } finally {
      namedIssuer = undefined;
    }
  });

  it('must be https, or plain http on loopback, unless allowInsecureIssuer', async () => {
    expect(() =>
      parseGatewayConfig({
        session: {},
        hybrid: {
          issuer: 'http://idp.example',
          clientId: 'gateway',
          redirectUri: 'http://127.0.0.1:8080/auth/callback',
          scopes: ['openid'],
        },
        routes: [{ prefix: '/h', upstream: 'http://127.0.0.1:1', auth: 'hybrid' }],
      }),
    ).toThrow(/hybrid\.issuer: an https URL/);
    const allowed = parseGatewayConfig({
      session: {},
      hybrid: {
        issuer: 'http://idp.example',
        clientId: 'gateway',
        redirectUri: 'http://127.0.0.1:8080/auth/callback',
        scopes: ['openid'],
        allowInsecureIssuer: true,
      },
      routes: [{ prefix: '/h', upstream: 'http://127.0.0.1:1', auth: 'hybrid' }],
    });
    expect(allowed.hybrid?.allowInsecureIssuer).toBe(true);
  });
});

describe('the grants and what the token endpoint answers', () => {
  const signInAnswer = () => ({
    query: new URLSearchParams({ code: 'a-code', state: STATE }),
    state: STATE,
    nonce: NONCE,
    verifier: VERIFIER,
  });

  it('redeems the code at the exact redirect URI, with the PKCE verifier and client_secret_basic', async () => {
    answerTokens(await sign(idClaims()));
    const { tokens } = await provider.exchangeCode(signInAnswer());
    expect(tokens.accessToken).toBe(ACCESS_TOKEN);
    expect(tokens.scope).toEqual(['openid']);
    const form = tokenRequest?.form as URLSearchParams;
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'authorization_code',
      code: 'a-code',
      redirect_uri: REDIRECT_URI,
      code_verifier: VERIFIER,
    });
    // RFC 6749 2.3.1: each part form-encoded, then base64.
    const basic = /^Basic (.+)$/.exec(tokenRequest?.authorization ?? '')?.[1] ?? '';
    const [id, secret] = Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent);
    expect([id, secret]).toEqual(['gateway', 'the-client-secret']);
    answerTokens(undefined);
    await provider.refresh('a-refresh-token');
    expect(Object.fromEntries(tokenRequest?.form as URLSearchParams)).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'a-refresh-token',
    });
  });

  it('refuses a callback for another state, or naming another issuer, before any token request', async () => {
    tokenRequest = undefined;
    const other = { ...signInAnswer(), query: new URLSearchParams({ code: 'a-code', state: 'other' }) };
    await expect(provider.exchangeCode(other)).rejects.toMatchObject(refusal);
    const mixedUp = new URLSearchParams({ code: 'a-code', state: STATE, iss: 'https://evil.example' });
    await expect(provider.exchangeCode({ ...signInAnswer(), query: mixedUp })).rejects.toMatchObject(refusal);
    expect(tokenRequest).toBeUndefined();
  });

  it('tells a refusal (400 with an OAuth error) from an outage (5xx, no usable token, too large)', async () => {
    tokenAnswer = { status: 400, body: { error: 'invalid_grant' } };
    await expect(provider.refresh('a-refresh-token')).rejects.toMatchObject({
      name: 'GrantRefused',
      oauthError: 'invalid_grant',
    });
    const outages: { status: number; body: unknown }[] = [
      { status: 500, body: { error: 'server_error' } },
      { status: 502, body: 'not json' },
      { status: 200, body: { access_token: ACCESS_TOKEN, token_type: 'Bearer' } },
      { status: 200, body: { access_token: ACCESS_TOKEN, token_type: 'mac', expires_in: 300 } },
      { status: 200, body: 'not json' },
      { status: 200, body: { access_token: 'x'.repeat(300 * 1024), token_type: 'Bearer', expires_in: 300 } },
    ];
    for (const answer of outages) {
      tokenAnswer = answer;
      const error = await provider.refresh('a-refresh-token').catch((e: unknown) => e);
      expect(error, JSON.stringify(answer).slice(0, 80)).toMatchObject({
        code: 'ERR_TOKEN_SERVICE_UNAVAILABLE',
      });
      // Nothing of the answer reaches the error (a token in it would reach a log).
      expect(JSON.stringify(error) + String((error as Error).message)).not.toContain(ACCESS_TOKEN);
    }
  });
});
