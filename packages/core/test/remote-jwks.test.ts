import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createAccessTokenVerifier,
  exportSigningKey,
  generateSigningKey,
  KeySet,
  RemoteJwksKeySource,
  type SigningKey,
  signAccessToken,
  TesseraTypeError,
} from '../src/index.js';
import { parseJwks } from '../src/keys/remote-jwks.js';
import { audience, issuer } from './helpers/claims.js';

type Mode = 'ok' | 'garbage' | 'redirect' | 'too-big' | 'slow' | 'error-500' | 'not-jwks';

let server: Server;
let base: string;
let mode: Mode = 'ok';
let fetches = 0;
let published: KeySet;
const pending = new Set<NodeJS.Timeout>();

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/elsewhere') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(published.jwks()));
    return;
  }
  fetches++;
  switch (mode) {
    case 'ok':
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(published.jwks()));
      return;
    case 'garbage':
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [ oops');
      return;
    case 'not-jwks':
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": "none"}');
      return;
    case 'redirect':
      res.writeHead(302, { location: `${base}/elsewhere` }).end();
      return;
    case 'too-big': {
      // No content-length: the limit must hold while streaming, not only on the declared size.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"keys":[],"pad":"`);
      res.end(`${'x'.repeat(200_000)}"}`);
      return;
    }
    case 'slow': {
      const timer = setTimeout(() => {
        pending.delete(timer);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(published.jwks()));
      }, 5_000);
      pending.add(timer);
      return;
    }
    case 'error-500':
      res.writeHead(500).end();
      return;
  }
}

let now = Date.UTC(2030, 0, 1);
const clock = () => now;
const claims = { subject: 'user-1', clientId: 'web', audience };

async function newPublishedKey(): Promise<SigningKey> {
  const key = await generateSigningKey('EdDSA');
  published.add(key, 'next');
  return key;
}

function tokenFor(key: SigningKey): Promise<string> {
  return signAccessToken(key, claims, { issuer, now: clock });
}

function source(): RemoteJwksKeySource {
  return new RemoteJwksKeySource({ url: `${base}/jwks`, timeout: 300, maxBodyBytes: 16_384, now: clock });
}

beforeAll(async () => {
  published = await KeySet.generate(['EdDSA', 'ES256']);
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const timer of pending) clearTimeout(timer);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  mode = 'ok';
  fetches = 0;
  now += 3_600_000;
});

describe('RemoteJwksKeySource', () => {
  it('fetches on first use and then verifies from its cache, synchronously too', async () => {
    const keys = source();
    const verifier = createAccessTokenVerifier({ issuer, audience, keys, now: clock });
    const token = await signAccessToken(published, claims, { issuer, now: clock });
    expect(() => verifier.verifySync(token)).toThrow(
      expect.objectContaining({ code: 'ERR_JWKS_NO_MATCHING_KEY' }),
    );
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'user-1' });
    expect(fetches).toBe(1);
    expect(verifier.verifySync(token).subject).toBe('user-1');
    await verifier.verify(token);
    expect(fetches).toBe(1);
  });

  it('fetches exactly once for 100 concurrent verifications of a token with a new kid', async () => {
    const keys = source();
    await keys.load();
    expect(fetches).toBe(1);
    const verifier = createAccessTokenVerifier({ issuer, audience, keys, now: clock });
    now += 31_000;
    const token = await tokenFor(await newPublishedKey());
    const results = await Promise.all(Array.from({ length: 100 }, () => verifier.verify(token)));
    expect(results.every((p) => p.subject === 'user-1')).toBe(true);
    expect(fetches).toBe(2);
  });

  it('refetches for an unknown kid at most once per cooldown', async () => {
    const keys = source();
    const verifier = createAccessTokenVerifier({ issuer, audience, keys, now: clock });
    await keys.load();
    const stranger = await tokenFor(await generateSigningKey('EdDSA'));
    // Within the cooldown of the load: no fetch at all.
    await expect(verifier.verify(stranger)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(fetches).toBe(1);
    now += 30_001;
    await expect(verifier.verify(stranger)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(fetches).toBe(2);
    for (let i = 0; i < 10; i++) {
      await expect(verifier.verify(stranger)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    }
    expect(fetches).toBe(2);
    // A key published meanwhile is learnt only once the cooldown has passed.
    const fresh = await tokenFor(await newPublishedKey());
    await expect(verifier.verify(fresh)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    now += 30_001;
    await expect(verifier.verify(fresh)).resolves.toMatchObject({ subject: 'user-1' });
    expect(fetches).toBe(3);
  });

  it.each<Mode>(['garbage', 'not-jwks', 'redirect', 'too-big', 'slow', 'error-500'])(
    'fails closed for new kids and keeps cached keys when the server answers %s',
    async (bad) => {
      const keys = source();
      const verifier = createAccessTokenVerifier({ issuer, audience, keys, now: clock });
      const known = await signAccessToken(published, claims, { issuer, now: clock });
      await expect(verifier.verify(known)).resolves.toMatchObject({ subject: 'user-1' });

      mode = bad;
      const fresh = await tokenFor(await newPublishedKey());
      now += 30_001;
      await expect(verifier.verify(fresh)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
      await expect(keys.load()).rejects.toMatchObject({ code: 'ERR_JWKS_FETCH_FAILED', status: 503 });
      expect(verifier.verifySync(known).subject).toBe('user-1');
      await expect(verifier.verify(known)).resolves.toMatchObject({ subject: 'user-1' });
    },
  );

  it('without maxAge and maxStale keeps its keys forever and never refetches a known kid', async () => {
    const keys = source();
    await keys.load();
    const kid = published.jwks().keys[0]?.kid ?? '';
    now += 365 * 86_400_000;
    mode = 'error-500';
    expect(keys.get(kid)?.kid).toBe(kid);
    await keys.refresh(kid);
    expect(fetches).toBe(1);
    expect(keys.expired).toBe(false);
  });

  it('refreshes in the background past maxAge and fails closed past maxStale', async () => {
    const keys = new RemoteJwksKeySource({
      url: `${base}/jwks`,
      timeout: 300,
      maxAge: 60_000,
      maxStale: 600_000,
      now: clock,
    });
    await keys.load();
    expect([keys.fetches, keys.failing, keys.expired]).toEqual([1, false, false]);
    const kid = published.jwks().keys[0]?.kid ?? '';
    now += 60_001;
    // Past maxAge the lookup still answers from the cache and starts one refetch behind it.
    expect(keys.get(kid)?.kid).toBe(kid);
    expect(keys.get(kid)?.kid).toBe(kid);
    expect(keys.fetches).toBe(2);
    await keys.load().catch(() => undefined); // joins the background fetch in flight
    expect([fetches, keys.fetches, keys.failing]).toEqual([2, 2, false]);

    mode = 'error-500';
    now += 300_000;
    expect(keys.get(kid)?.kid).toBe(kid);
    await expect(keys.load()).rejects.toMatchObject({ code: 'ERR_JWKS_FETCH_FAILED' });
    expect([keys.failing, keys.expired]).toEqual([true, false]);
    expect(keys.get(kid)?.kid).toBe(kid); // stale-if-error

    now += 300_001; // past maxStale since the last success
    expect(keys.expired).toBe(true);
    expect(keys.get(kid)).toBeUndefined();

    mode = 'ok';
    now += 30_001;
    await keys.refresh(kid); // an expired cache refetches even for a kid it holds
    expect([keys.failing, keys.expired]).toEqual([false, false]);
    expect(keys.get(kid)?.kid).toBe(kid);
  });

  it('ignores symmetric keys and keys with private members', async () => {
    const leaked = await generateSigningKey('EdDSA');
    const privateJwk = await exportSigningKey(leaked);
    const keys = parseJwks({
      keys: [
        privateJwk,
        { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac', alg: 'HS256' },
        { ...leaked.publicJwk, kid: 'enc', use: 'enc' },
        { ...leaked.publicJwk, kid: 'mismatch', alg: 'ES256' },
        'not a key',
        { ...leaked.publicJwk, kid: 'public' },
      ],
    });
    expect([...keys.keys()]).toEqual(['public']);
    expect(keys.get('public')?.alg).toBe('EdDSA');
  });

  it('refuses a non-http URL or a bad option at construction', () => {
    expect(() => new RemoteJwksKeySource({ url: 'file:///etc/passwd' })).toThrow(TesseraTypeError);
    expect(() => new RemoteJwksKeySource({ url: 'not a url' })).toThrow(TesseraTypeError);
    expect(() => new RemoteJwksKeySource({ url: base, cooldown: -1 })).toThrow(TesseraTypeError);
    expect(() => new RemoteJwksKeySource({ url: base, maxAge: 0 })).toThrow(TesseraTypeError);
    expect(() => new RemoteJwksKeySource({ url: base, maxStale: Number.NaN })).toThrow(TesseraTypeError);
  });
});
