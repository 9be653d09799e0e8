import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { createVerifier } from '../src/verify/verifier.js';

// RFC 9068 makes RS256 the algorithm every access-token verifier supports; a relying party whose
// JOSE library has no EdDSA (Apache mod_auth_openidc on Debian 12) needs it. The token service
// signs RS256 for the audiences configured so, EdDSA for the others, and this library verifies
// both when told to accept RS256.

const SECRET = 'portal-secret-0123456789abcdef-0123456789';
const portal = {
  client_id: 'portal',
  client_secret: SECRET,
  grant_types: ['client_credentials' as const],
  scopes: ['legacy:read', 'inventory:read'],
  audiences: ['legacy', 'inventory'],
};

interface TokenAnswer {
  readonly access_token: string;
}

async function clientCredentials(harness: Harness, audience: readonly string[]): Promise<string> {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  for (const aud of audience) body.append('audience', aud);
  const response = await fetch(`${harness.url}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`portal:${SECRET}`).toString('base64')}`,
    },
    body: body.toString(),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as TokenAnswer).access_token;
}

const algOf = (token: string) => decodeProtectedHeader(token).alg;

describe('RS256 access tokens for the audiences configured so (docs/security.md C119)', () => {
  let database: TestDatabase;
  let harness: Harness;

  beforeAll(async () => {
    database = await sqlite.create();
    harness = await startService(database, {
      clients: [portal],
      accessTokenAlgByAudience: { legacy: 'RS256' },
      // A next key may sign two reloads after it is published (100 ms here).
      keyReloadIntervalMs: 50,
    });
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  const joseVerify = (token: string, audience: string, algorithms: string[]) =>
    jwtVerify(token, createRemoteJWKSet(new URL(`${harness.url}/jwks`)), {
      issuer: harness.url,
      audience,
      typ: 'at+jwt',
      algorithms,
    });

  it('signs the configured audience RS256 with an RSA key of 2048 bits or more, the others EdDSA', async () => {
    const legacy = await clientCredentials(harness, ['legacy']);
    expect(algOf(legacy)).toBe('RS256');
    const jwks = (await (await fetch(`${harness.url}/jwks`)).json()) as {
      keys: { kid: string; kty: string; alg: string; n?: string }[];
    };
    const key = jwks.keys.find((candidate) => candidate.kid === decodeProtectedHeader(legacy).kid);
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256' });
    expect(Buffer.from(key?.n as string, 'base64url').length * 8).toBeGreaterThanOrEqual(2048);
    const { payload } = await joseVerify(legacy, 'legacy', ['RS256']);
    expect(payload.sub).toBe('portal');

    const resourceVerifier = await createVerifier({
      issuer: harness.url,
      audience: 'legacy',
      algorithms: ['RS256'],
    });
    expect((await resourceVerifier.verify(legacy)).subject).toBe('portal');
    // A verifier left at its default (EdDSA, ES256) refuses it: accepting RS256 is the service's choice.
    const strictVerifier = await createVerifier({ issuer: harness.url, audience: 'legacy' });
    await expect(strictVerifier.verify(legacy)).rejects.toMatchObject({ code: 'ERR_JWS_ALG_NOT_ALLOWED' });

    const inventory = await clientCredentials(harness, ['inventory']);
    expect(algOf(inventory)).toBe('EdDSA');
    const inventoryVerifier = await createVerifier({ issuer: harness.url, audience: 'inventory' });
    expect((await inventoryVerifier.verify(inventory)).subject).toBe('portal');
    // A token for both: RS256, which the legacy verifier needs and every verifier can take.
    expect(algOf(await clientCredentials(harness, ['legacy', 'inventory']))).toBe('RS256');
  });

  it("the service's own checks take its RS256 tokens: introspection and userinfo", async () => {
    const legacy = await clientCredentials(harness, ['legacy']);
    const introspection = await fetch(`${harness.url}/introspect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`portal:${SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token: legacy }).toString(),
    });
    expect(await introspection.json()).toMatchObject({ active: true, client_id: 'portal' });

    const ctx = harness.context;
    const user = await ctx.users.create('dora', 'dora-password-0123456', { name: 'Dora' });
    const userToken = ctx.accessTokens.issue({
      subject: user.id,
      clientId: 'portal',
      audience: ['legacy'],
      scopes: ['openid', 'profile'],
      authTime: Math.floor(ctx.now() / 1000),
    });
    expect(algOf(userToken.token)).toBe('RS256');
    const info = await fetch(`${harness.url}/userinfo`, {
      headers: { authorization: `Bearer ${userToken.token}` },
    });
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ sub: user.id, name: 'Dora' });
  });

  it('rotating the RS256 key signs with the new one while old tokens keep verifying', async () => {
    const before = await clientCredentials(harness, ['legacy']);
    // Step one publishes a next key that does not sign yet; a verifier that fetches the JWKS
    // meanwhile (here: one created now) knows it before it signs.
    await harness.service.keys.rotate('RS256');
    expect(decodeProtectedHeader(await clientCredentials(harness, ['legacy'])).kid).toBe(
      decodeProtectedHeader(before).kid,
    );
    const verifier = await createVerifier({ issuer: harness.url, audience: 'legacy', algorithms: ['RS256'] });
    expect((await verifier.verify(before)).subject).toBe('portal');
    // Step two promotes it, once every instance has had two reloads to serve it; the old key
    // retires and stays published.
    await new Promise((resolve) => setTimeout(resolve, 150));
    await harness.service.keys.rotate('RS256');
    const after = await clientCredentials(harness, ['legacy']);
    expect(algOf(after)).toBe('RS256');
    expect(decodeProtectedHeader(after).kid).not.toBe(decodeProtectedHeader(before).kid);
    for (const token of [before, after]) {
      await joseVerify(token, 'legacy', ['RS256']);
      expect((await verifier.verify(token)).subject).toBe('portal');
    }
    const fresh = await createVerifier({ issuer: harness.url, audience: 'legacy', algorithms: ['RS256'] });
    expect((await fresh.verify(before)).subject).toBe('portal');
    // EdDSA was not rotated.
    expect(algOf(await clientCredentials(harness, ['inventory']))).toBe('EdDSA');
  });
});

describe('RS256 access tokens server-wide', () => {
  let database: TestDatabase;
  let harness: Harness;

  beforeAll(async () => {
    database = await sqlite.create();
    harness = await startService(database, {
      clients: [portal],
      accessTokenAlg: 'RS256',
      accessTokenAlgByAudience: { inventory: 'EdDSA' },
    });
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  it('signs every audience RS256 but the ones configured otherwise', async () => {
    const legacy = await clientCredentials(harness, ['legacy']);
    expect(algOf(legacy)).toBe('RS256');
    const verifier = await createVerifier({ issuer: harness.url, audience: 'legacy', algorithms: ['RS256'] });
    expect((await verifier.verify(legacy)).subject).toBe('portal');
    expect(algOf(await clientCredentials(harness, ['inventory']))).toBe('EdDSA');
  });
});
