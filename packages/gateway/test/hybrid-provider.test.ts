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
// to happen on purpose. Keys are given in-process; discovery is a tiny metadata server.

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const NONCE = 'nonce-0123456789';
const ACCESS_TOKEN = 'an-access-token';

let server: Server;
let issuer: string;
let provider: OidcProvider;
const keys = new KeySet();

beforeAll(async () => {
  keys.add(await generateSigningKey('RS256'), 'active');
  keys.add(await generateSigningKey('EdDSA'), 'active');
  server = createServer((request, response) => {
    if (request.url !== '/.well-known/openid-configuration') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = parseGatewayConfig({
    session: {},
    hybrid: {
      issuer,
      clientId: 'gateway',
      redirectUri: 'http://127.0.0.1:8080/auth/callback',
      scopes: ['openid'],
    },
    routes: [{ prefix: '/h', upstream: 'http://127.0.0.1:1', auth: 'hybrid' }],
  });
  provider = new OidcProvider(config.hybrid as NonNullable<typeof config.hybrid>, {
    clientSecret: 'unused',
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
    const claims = await provider.verifyIdToken(await sign(idClaims(), { typ: 'JWT' }), NONCE, ACCESS_TOKEN);
    expect(claims.sub).toBe('alice');
    const ed = await sign(idClaims({ at_hash: atHash(ACCESS_TOKEN, 'EdDSA') }), { alg: 'EdDSA' });
    expect((await provider.verifyIdToken(ed, NONCE, ACCESS_TOKEN)).sub).toBe('alice');
    // A refresh's ID token carries no nonce, and none is asked for.
    const refreshed = await sign(idClaims({ nonce: undefined }));
    expect((await provider.verifyIdToken(refreshed, undefined, ACCESS_TOKEN)).sub).toBe('alice');
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
      await expect(provider.verifyIdToken(await make(), NONCE, ACCESS_TOKEN)).rejects.toMatchObject(refusal);
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
