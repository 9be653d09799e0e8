import { generateSigningKey, RemoteJwksKeySource } from '@tessera/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { craft, header } from '../../../test/support/craft.js';
import { type FakeIssuer, startIssuer } from '../../../test/support/issuer.js';
import { bearer } from '../src/identity/bearer.js';
import { createVerifier } from '../src/verify/verifier.js';
import { claims } from './support/claims.js';
import { bearerHeader, call, startService } from './support/service.js';

// docs/security.md D74-76 and the JWKS endpoint answering garbage, slowly or not at all.

let issuer: FakeIssuer;

beforeAll(async () => {
  issuer = await startIssuer(['EdDSA']);
});
afterAll(async () => {
  await issuer?.close();
});
afterEach(() => {
  issuer.behaviour = 'ok';
  issuer.discovery = {};
});

const nowS = () => Math.floor(Date.now() / 1000);

describe('D 74: unknown kids', () => {
  it('1000 concurrent requests with a new kid make one fetch; a flood of random kids makes none in the cooldown', async () => {
    let clock = Date.now();
    const verifier = await createVerifier({ issuer: issuer.url, audience: 'orders', now: () => clock });
    const jwks = verifier.jwks as RemoteJwksKeySource;
    expect(jwks.fetches).toBe(1);
    const fresh = await generateSigningKey('EdDSA');
    issuer.keys.add(fresh, 'next');
    clock += 30_001; // the start's fetch is the last attempt: wait out its cooldown
    const token = craft(fresh, header(fresh), claims(issuer.url, Math.floor(clock / 1000)));
    const results = await Promise.all(Array.from({ length: 1000 }, () => verifier.verify(token)));
    expect(results.every((principal) => principal.subject === 'alice')).toBe(true);
    expect(jwks.fetches).toBe(2);

    const random = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        verifier.verify(
          craft(fresh, header(fresh, { kid: `random-${i}` }), claims(issuer.url, Math.floor(clock / 1000))),
        ),
      ),
    );
    expect(
      random.every(
        (r) => r.status === 'rejected' && (r.reason as { code: string }).code === 'ERR_JWKS_NO_MATCHING_KEY',
      ),
    ).toBe(true);
    expect(jwks.fetches).toBe(2);
    issuer.keys.remove(fresh.kid);
  });

  it('after the cooldown an unknown kid may fetch again (injected clock)', async () => {
    let clock = Date.now();
    const verifier = await createVerifier({ issuer: issuer.url, audience: 'orders', now: () => clock });
    const jwks = verifier.jwks as RemoteJwksKeySource;
    const stranger = await generateSigningKey('EdDSA');
    const token = craft(stranger, header(stranger), claims(issuer.url, Math.floor(clock / 1000)));
    // Within the cooldown of the fetch made at start: refused without another fetch.
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(jwks.fetches).toBe(1);
    clock += 30_001;
    await expect(
      verifier.verify(craft(stranger, header(stranger), claims(issuer.url, Math.floor(clock / 1000)))),
    ).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
    expect(jwks.fetches).toBe(2);
  });
});

describe('D 75: stale-if-error, bounded', () => {
  it('keeps verifying known keys while the JWKS fails, until maxStale; then fails closed with 503', async () => {
    let clock = Date.now();
    const verifier = await createVerifier({
      issuer: issuer.url,
      audience: 'orders',
      now: () => clock,
      jwks: { maxAge: 60_000, maxStale: 600_000, timeout: 300 },
    });
    const key = issuer.keys.activeKey('EdDSA');
    const tokenAt = () => craft(key, header(key), claims(issuer.url, Math.floor(clock / 1000)));
    issuer.behaviour = 'down';
    clock += 120_000; // past maxAge: a background refresh fails, the cached key keeps serving
    expect((await verifier.verify(tokenAt())).subject).toBe('alice');
    await new Promise((resolve) => setTimeout(resolve, 50));
    clock += 300_000;
    expect((await verifier.verify(tokenAt())).subject).toBe('alice');
    clock += 300_001; // past maxStale since the last success
    await expect(verifier.verify(tokenAt())).rejects.toMatchObject({
      code: 'ERR_JWKS_FETCH_FAILED',
      status: 503,
    });
    issuer.behaviour = 'ok';
    clock += 30_001; // past the cooldown: the next token refetches and succeeds
    expect((await verifier.verify(tokenAt())).subject).toBe('alice');
  });

  it.each([
    ['garbage', 'garbage'],
    ['a document without a keys array', 'not-jwks'],
    ['an oversized body', 'huge'],
    ['a redirect', 'redirect'],
    ['no answer at all (timeout)', 'slow'],
    ['a dropped connection', 'down'],
  ] as const)(
    'a JWKS endpoint answering %s: a new kid gets a clear 503 through HTTP, known keys still work',
    async (_name, behaviour) => {
      const verifier = await createVerifier({
        issuer: issuer.url,
        audience: 'orders',
        jwks: { timeout: 300, maxBodyBytes: 64 * 1024, cooldown: 1 },
      });
      const service = await startService(bearer(verifier));
      try {
        issuer.behaviour = behaviour;
        const stranger = await generateSigningKey('EdDSA');
        const started = performance.now();
        const answer = await call(
          `${service.url}/orders`,
          bearerHeader(craft(stranger, header(stranger), claims(issuer.url, nowS()))),
        );
        expect(answer.status).toBe(503);
        expect(answer.body).toEqual({
          error: 'temporarily_unavailable',
          error_description: 'temporarily unavailable',
          code: 'ERR_JWKS_FETCH_FAILED',
        });
        expect(answer.headers.get('retry-after')).toBe('5');
        // Bounded by the 300 ms deadline, not a hang (a generous bound: this is not a speed test).
        expect(performance.now() - started).toBeLessThan(5_000);
        const key = issuer.keys.activeKey('EdDSA');
        const known = await call(
          `${service.url}/orders`,
          bearerHeader(craft(key, header(key), claims(issuer.url, nowS()))),
        );
        expect(known.status).toBe(200);
      } finally {
        await service.app.close();
      }
    },
  );

  it('never follows a redirect', async () => {
    issuer.behaviour = 'redirect';
    const client = new RemoteJwksKeySource({ url: `${issuer.url}/jwks`, timeout: 300 });
    const hits = issuer.jwksHits;
    await expect(client.load()).rejects.toMatchObject({ code: 'ERR_JWKS_FETCH_FAILED' });
    expect(issuer.jwksHits).toBe(hits + 1);
  });
});

describe('D 76: discovery', () => {
  it('finds the jwks_uri', async () => {
    const verifier = await createVerifier({ issuer: issuer.url, audience: 'orders' });
    expect(verifier.jwks?.url.href).toBe(`${issuer.url}/jwks`);
  });

  it.each([
    ['another issuer', { issuer: 'https://evil.example' }],
    ['a trailing slash', { issuer: 'TRAILING' }],
    ['no jwks_uri', { jwks_uri: undefined }],
    ['a jwks_uri that is not http(s)', { jwks_uri: 'file:///etc/passwd' }],
  ])('refuses to start on %s', async (_name, overrides) => {
    issuer.discovery = Object.fromEntries(
      Object.entries(overrides).map(([k, v]) => [k, v === 'TRAILING' ? `${issuer.url}/` : v]),
    );
    await expect(createVerifier({ issuer: issuer.url, audience: 'orders' })).rejects.toMatchObject({
      code: 'ERR_DISCOVERY_FAILED',
    });
  });

  it('refuses to start when discovery cannot be reached', async () => {
    await expect(
      createVerifier({ issuer: 'http://127.0.0.1:1', audience: 'orders', jwks: { timeout: 300 } }),
    ).rejects.toMatchObject({ code: 'ERR_DISCOVERY_FAILED' });
  });
});
