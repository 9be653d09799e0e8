import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessTokenSigner, answerFor, ConfigError, KeySet } from '@tessera/core';
import { SESSION_REFERENCE_HEADER } from '@tessera/resource/session';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/support/logs.js';
import { closedPort, type Echo, startUpstream, type Upstream } from '../../../test/support/upstream.js';
import { createGateway } from '../src/app.js';
import type { TokenMode } from '../src/auth/token.js';
import { type GatewayConfig, type GatewayConfigInput, parseGatewayConfig } from '../src/config.js';
import type { GatewayModes } from '../src/modes.js';
import { modeTable } from '../src/proxy/dispatch.js';
import { RouteTable } from '../src/proxy/routes.js';

// Every route's mode gives the upstream the identity it demands, or the request is answered at
// the edge and the upstream sees nothing: a bearer token on token routes, a session reference on
// session routes, the session's access token on hybrid routes (hybrid.test.ts signs in through a
// real token service), nothing on public ones (docs/security.md F139).

const issuer = 'https://auth.test';
const ordersKey = { id: 'k1', secret: randomBytes(32).toString('base64url') };
const dir = mkdtempSync(join(tmpdir(), 'tessera-gateway-modes-'));
let upstream: Upstream;
let keys: KeySet;
let gateway: FastifyInstance;
let base: string;

async function configInput(): Promise<GatewayConfigInput> {
  return {
    token: { issuer, audience: 'gateway' },
    session: { store: { type: 'memory' }, insecureHttpLocalhost: true },
    identity: { database: `sqlite:${join(dir, 'identity.db')}`, deactivationPollMs: 0 },
    hybrid: {
      issuer: `http://127.0.0.1:${await closedPort()}`,
      clientId: 'gateway',
      redirectUri: 'http://localhost:8080/auth/callback',
      scopes: ['openid'],
    },
    routes: [
      { prefix: '/public', upstream: upstream.url, auth: 'public' },
      { prefix: '/token', upstream: upstream.url, auth: 'token' },
      { prefix: '/session', upstream: upstream.url, auth: 'session', audience: 'orders' },
      { prefix: '/hybrid', upstream: upstream.url, auth: 'hybrid' },
    ],
  };
}

beforeAll(async () => {
  upstream = await startUpstream();
  keys = await KeySet.generate();
  gateway = await createGateway(parseGatewayConfig(await configInput()), {
    tokenKeys: keys,
    sessionReferenceKeys: { orders: ordersKey },
    clientSecret: 'gateway-client-secret-0123456789abcdef-0123',
    logDestination: new LogCapture(),
  });
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  base = `http://localhost:${(gateway.server.address() as AddressInfo).port}`;
  const { openUserDirectory } = await import('@tessera/identity');
  const { createDatabase, parseDatabaseUrl } = await import('@tessera/storage/sql');
  const db = await createDatabase(parseDatabaseUrl(`sqlite:${join(dir, 'identity.db')}`));
  await (await openUserDirectory({ db })).create('alice', 'alice-password');
  await db.destroy();
});
afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(path: string, headers: Record<string, string> = {}) {
  const response = await request(`${base}${path}`, { headers });
  return { status: response.statusCode, text: await response.body.text() };
}

/** What reached the upstream while `work` ran. */
async function reaching(work: () => Promise<unknown>): Promise<readonly string[]> {
  const before = upstream.seen.length;
  await work();
  return upstream.seen.slice(before);
}

function bearer(audience = 'gateway'): string {
  return new AccessTokenSigner({ keys, issuer }).issue({ subject: 'alice', clientId: 'shop', audience })
    .token;
}

async function sessionCookie(): Promise<string> {
  const response = await request(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
  });
  await response.body.text();
  expect(response.statusCode).toBe(204);
  return String(response.headers['set-cookie']).split(';')[0] as string;
}

describe('the upstream of each mode', () => {
  it('sees nothing of a request without the identity its mode demands', async () => {
    const madeUpCookie = `tessera-sid=${randomBytes(32).toString('base64url')}`;
    const attempts: [string, Record<string, string>][] = [
      ['/token/x', {}],
      ['/token/x', { authorization: 'Bearer not-a-token' }],
      ['/token/x', { authorization: `Bearer ${bearer('someone-else')}` }],
      ['/session/x', {}],
      ['/session/x', { cookie: madeUpCookie }],
      // A bearer token is no session, and a token route's identity on a session route is refused.
      ['/session/x', { authorization: `Bearer ${bearer()}` }],
      ['/hybrid/x', {}],
      ['/hybrid/x', { cookie: madeUpCookie }],
      ['/hybrid/x', { authorization: `Bearer ${bearer()}` }],
    ];
    for (const [path, headers] of attempts) {
      let status = 0;
      expect(
        await reaching(async () => {
          status = (await call(path, headers)).status;
        }),
      ).toEqual([]);
      expect([path, status]).toEqual([path, 401]);
    }
  });

  it('sees the identity header of its mode, and a public one none', async () => {
    const token = bearer();
    const viaToken = JSON.parse((await call('/token/x', { authorization: `Bearer ${token}` })).text) as Echo;
    expect(viaToken.headers.authorization).toBe(`Bearer ${token}`);

    const cookie = await sessionCookie();
    const viaSession = JSON.parse((await call('/session/x', { cookie })).text) as Echo;
    expect(viaSession.headers[SESSION_REFERENCE_HEADER]).toMatch(/^v3\./);
    expect(viaSession.headers.cookie).toBeUndefined();
    // A form-login session holds no token: a hybrid route refuses it rather than send it on bare.
    expect(
      await reaching(async () => expect((await call('/hybrid/x', { cookie })).status).toBe(401)),
    ).toEqual([]);

    const viaPublic = JSON.parse(
      (await call('/public/x', { authorization: `Bearer ${token}`, [SESSION_REFERENCE_HEADER]: 'v3.forged' }))
        .text,
    ) as Echo;
    expect(viaPublic.headers.authorization).toBeUndefined();
    expect(viaPublic.headers[SESSION_REFERENCE_HEADER]).toBeUndefined();
  });
});

describe('the mode table', () => {
  const routes = (auth: string) =>
    [
      { prefix: '/r', upstream: 'http://127.0.0.1:1', auth, stripPrefix: false },
    ] as unknown as GatewayConfig['routes'];
  const noModes: GatewayModes = {
    token: undefined,
    session: undefined,
    hybrid: undefined,
    readiness: {},
    sessionCookieNames: [],
    ownCookies: new Set(),
  };

  it('a route without auth, or with one that is no mode, is refused at config load', () => {
    for (const auth of [undefined, 'cookie', 'none', '']) {
      const route = { prefix: '/r', upstream: 'http://127.0.0.1:1', ...(auth === undefined ? {} : { auth }) };
      expect(() => parseGatewayConfig({ routes: [route] } as never)).toThrow(ConfigError);
    }
  });

  it('refuses at start a config built by hand whose route has no mode, or a mode not configured', async () => {
    expect(() => modeTable(routes('cookie'), noModes)).toThrow('routes[0].auth: not a mode of the gateway');
    expect(() => modeTable(routes('token'), noModes)).toThrow(
      'routes[0] (auth: token): the token mode is not configured',
    );
    // The gateway before this table forwarded both of these with no identity at all.
    const bare = parseGatewayConfig({ routes: [{ prefix: '/r', upstream: upstream.url, auth: 'public' }] });
    const seen = upstream.seen.length;
    await expect(
      createGateway({ ...bare, routes: routes('token') }, { logDestination: new LogCapture() }),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: 'routes[0] (auth: token): the token mode is not configured',
    });
    await expect(
      createGateway({ ...bare, routes: routes('bogus') }, { logDestination: new LogCapture() }),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: expect.stringContaining('routes[0].auth'),
    });
    expect(upstream.seen.length).toBe(seen);
  });

  it('answers 500 rather than forward when a mode hands back no identity', async () => {
    const empty = (answer: 'now' | 'later'): TokenMode =>
      ({
        verifier: undefined,
        readiness: undefined,
        authorize: () => (answer === 'now' ? {} : Promise.resolve({ authorization: '' })),
      }) as unknown as TokenMode;
    const table = new RouteTable(routes('token'));
    const match = table.match('/r/x');
    if (match === undefined) throw new Error('no match');
    const request = {} as FastifyRequest;
    const reply = {} as FastifyReply;
    // What is thrown is the gateway's own failure: answered 500 ERR_INTERNAL, its detail only logged.
    const answered = (error: unknown) => {
      const answer = answerFor(error);
      return { status: answer.status, code: answer.body.error.code };
    };
    let now: unknown;
    try {
      modeTable(routes('token'), { ...noModes, token: empty('now') }).token(request, reply, match);
    } catch (error) {
      now = error;
    }
    expect(now).toBeInstanceOf(Error);
    expect(answered(now)).toEqual({ status: 500, code: 'ERR_INTERNAL' });
    const later = await Promise.resolve(
      modeTable(routes('token'), { ...noModes, token: empty('later') }).token(request, reply, match),
    ).catch((error: unknown) => error);
    expect(later).toBeInstanceOf(Error);
    expect(answered(later)).toEqual({ status: 500, code: 'ERR_INTERNAL' });
  });
});
