import type { AddressInfo } from 'node:net';
import { RedisChannel } from '@tessera/storage';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/eventually.js';
import { deleteKeysWithPrefix, REDIS_URL, randomPrefix } from '../../../test/support/redis.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { startUpstream, type Upstream } from '../../../test/support/upstream.js';
import { createGateway, loadGatewayConfig, parseGatewayConfig } from '../src/index.js';

// The real token service and the gateway on one Redis (a key prefix of this file's own): /revoke
// at the token service publishes on the revocation stream, the gateway's token routes refuse the
// token within a second, whether it sits in the verified-token cache or was never seen. The
// upstream is an echo that checks nothing, so every refusal here is the gateway's.

const SECRET = 'reports-secret-0123456789abcdef-0123456789';
const basic = `Basic ${Buffer.from(`reports:${SECRET}`).toString('base64')}`;
const prefix = randomPrefix('gateway:revocation');

let database: TestDatabase;
let publisher: RedisChannel;
let service: Harness;
let upstream: Upstream;
let gateway: FastifyInstance;
let base: string;

beforeAll(async () => {
  database = await sqlite.create();
  publisher = new RedisChannel({ url: REDIS_URL, prefix });
  service = await startService(database, {
    channel: publisher,
    clients: [
      {
        client_id: 'reports',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        scopes: ['orders:read'],
        audiences: ['gateway'],
      },
    ],
  });
  upstream = await startUpstream();
  const config = parseGatewayConfig({
    logLevel: 'silent',
    token: { issuer: service.url, audience: 'gateway', revocations: { url: REDIS_URL, prefix } },
    routes: [{ prefix: '/api', upstream: upstream.url, auth: 'token', stripPrefix: true }],
  });
  gateway = await createGateway(config);
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await service?.stop();
  await publisher?.close();
  await database?.cleanup();
  await deleteKeysWithPrefix(prefix);
});

async function issue(): Promise<string> {
  const response = await fetch(`${service.url}/token`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'orders:read',
      audience: 'gateway',
    }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function revoke(token: string): Promise<void> {
  const response = await fetch(`${service.url}/revoke`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
  });
  expect(response.status).toBe(200);
}

const through = (token: string) =>
  fetch(`${base}/api/orders`, { headers: { authorization: `Bearer ${token}` } });

async function expectRevokedWithinASecond(token: string): Promise<void> {
  const refused = await eventually(
    async () => {
      const response = await through(token);
      expect(response.status).toBe(401);
      return response;
    },
    { timeoutMs: 1_000, intervalMs: 20 },
  );
  expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
  expect(await refused.json()).toMatchObject({ error: { code: 'ERR_TOKEN_REVOKED' } });
}

describe('token routes and revocation (docs/security.md F98)', () => {
  it('refuses a token cached as verified within a second of /revoke', async () => {
    const token = await issue();
    // Used twice: the second is answered from the verified-token cache.
    expect((await through(token)).status).toBe(200);
    expect((await through(token)).status).toBe(200);
    await revoke(token);
    await expectRevokedWithinASecond(token);
  });

  it('refuses a token revoked before the gateway ever saw it', async () => {
    const token = await issue();
    await revoke(token);
    await expectRevokedWithinASecond(token);
  });

  it('still forwards the tokens nobody revoked', async () => {
    expect((await through(await issue())).status).toBe(200);
  });
});

describe('the config option', () => {
  it('warns when token routes do not hear revocations', () => {
    const input = {
      token: { issuer: 'http://127.0.0.1:1', audience: 'gateway' },
      routes: [{ prefix: '/api', upstream: 'http://127.0.0.1:2', auth: 'token' as const }],
    };
    const without = loadGatewayConfig({ defaults: input });
    expect(without.warnings.some((w) => w.startsWith('token.revocations is not set'))).toBe(true);
    const withIt = loadGatewayConfig({
      defaults: { ...input, token: { ...input.token, revocations: { url: REDIS_URL } } },
    });
    expect(withIt.warnings).toEqual([]);
    expect(withIt.config.token?.revocations).toEqual({ url: REDIS_URL, prefix: '' });
  });

  it('does not start when the revocation channel cannot be reached', async () => {
    const config = parseGatewayConfig({
      logLevel: 'silent',
      // Nothing listens on port 1: the subscription fails within the command timeout.
      token: { issuer: service.url, audience: 'gateway', revocations: { url: 'redis://127.0.0.1:1' } },
      routes: [{ prefix: '/api', upstream: upstream.url, auth: 'token' }],
    });
    await expect(createGateway(config)).rejects.toMatchObject({ code: 'ERR_STORAGE_UNAVAILABLE' });
  });

  it('refuses a revocations url that is not Redis', () => {
    expect(() =>
      parseGatewayConfig({
        token: { issuer: 'http://127.0.0.1:1', audience: 'gateway', revocations: { url: 'http://x' } },
        routes: [{ prefix: '/api', upstream: 'http://127.0.0.1:2', auth: 'token' }],
      }),
    ).toThrow(/token\.revocations\.url/);
  });
});
