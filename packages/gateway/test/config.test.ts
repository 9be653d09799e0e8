import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, KeySet } from '@tessera/core';
import { formatConfigError } from '@tessera/core/config';
import { afterAll, describe, expect, it } from 'vitest';
import { createGateway } from '../src/app.js';
import { loadGatewayConfig, parseGatewayConfig } from '../src/config.js';
import { RouteTable } from '../src/proxy/routes.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-gateway-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problems(input: unknown): string[] {
  try {
    parseGatewayConfig(input as never);
  } catch (error) {
    if (error instanceof ConfigError) return formatConfigError(error, '').split('\n');
    throw error;
  }
  return [];
}

describe('gateway config', () => {
  it('reads a YAML file, applies defaults and freezes it', () => {
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      [
        'listen: { port: 8090 }',
        'routes:',
        '  - { prefix: /api/inventory, upstream: "http://127.0.0.1:8102", auth: public, stripPrefix: true }',
      ].join('\n'),
    );
    const { config } = loadGatewayConfig({ file, env: { TESSERA_GATEWAY__LISTEN__HOST: '0.0.0.0' } });
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 8090 });
    expect(config.routes[0]?.stripPrefix).toBe(true);
    expect(config.upstreams.timeoutMs).toBe(30_000);
    expect(Object.isFrozen(config.routes[0])).toBe(true);
  });

  it('refuses duplicate prefixes, bad upstreams, unknown modes and reserved paths, one line each', () => {
    const duplicate = problems({
      routes: [
        { prefix: '/api', upstream: 'http://127.0.0.1:1', auth: 'public' },
        { prefix: '/api', upstream: 'http://127.0.0.1:2', auth: 'public' },
        { prefix: '/auth/x', upstream: 'http://127.0.0.1:1', auth: 'public' },
      ],
    }).join('\n');
    expect(duplicate).toContain('routes[1].prefix: duplicate prefix (also routes.0.prefix)');
    expect(duplicate).toContain('routes[2].prefix: /auth is answered by the gateway itself');
    const lines = problems({
      routes: [
        { prefix: '/api', upstream: 'http://127.0.0.1:1', auth: 'public' },
        { prefix: '/api', upstream: 'ftp://x', auth: 'public' },
        { prefix: '/b', upstream: 'http://u:p@127.0.0.1:1', auth: 'cookie' },
        { prefix: 'nope/', upstream: 'http://127.0.0.1:1', auth: 'public', colour: 'red' },
      ],
    });
    const text = lines.join('\n');
    expect(text).toContain('routes[1].upstream: an absolute http(s) URL');
    expect(text).toContain('routes[2].upstream');
    expect(text).toContain('routes[2].auth');
    expect(text).toContain('routes[3].prefix');
    expect(text).toContain('routes[3].colour: unknown key');
    // Values are never echoed (a credential in a URL stays out of the log).
    expect(text).not.toContain('u:p');
    expect(lines.every((line) => !line.includes('\n'))).toBe(true);
  });

  it('has bounds on clients by default, an idle bound above the upstream timeout, and a public origin that is an origin', () => {
    const route = { prefix: '/x', upstream: 'http://127.0.0.1:1', auth: 'public' };
    expect(parseGatewayConfig({ routes: [route] as never }).clients).toEqual({
      headersTimeoutMs: 10_000,
      bodyTimeoutMs: 30_000,
      idleTimeoutMs: 72_000,
      maxInFlightPerAddress: 64,
    });
    expect(problems({ routes: [route], upstreams: { timeoutMs: 90_000 } })).toEqual([
      expect.stringContaining(
        'clients.idleTimeoutMs: must be above upstreams.timeoutMs (a connection waiting for a slow upstream is not idle)',
      ),
    ]);
    expect(problems({ routes: [route], publicOrigin: 'https://shop.example/app' })).toEqual([
      expect.stringContaining('publicOrigin: an origin: scheme, host and port only'),
    ]);
    expect(problems({ routes: [route], publicOrigin: 'https://shop.example' })).toEqual([]);
  });

  it('requires the token, session and identity sections the routes need', () => {
    const text = problems({
      routes: [
        { prefix: '/t', upstream: 'http://127.0.0.1:1', auth: 'token' },
        { prefix: '/s', upstream: 'http://127.0.0.1:1', auth: 'session' },
      ],
    }).join('\n');
    expect(text).toContain('token: required by routes.0 (auth: token)');
    expect(text).toContain('session: required by routes.1 (auth: session)');
    expect(text).toContain('identity: required by routes.1');
    expect(text).toContain('routes[1].audience: required for auth: session');
  });

  it('needs the session store and the hybrid client for hybrid routes, and their values checked', () => {
    expect(() =>
      parseGatewayConfig({ routes: [{ prefix: '/h', upstream: 'http://127.0.0.1:1', auth: 'hybrid' }] }),
    ).toThrow(/session: required by routes\.0 \(auth: hybrid\)[\s\S]*hybrid: required by routes\.0/);
    const hybrid = {
      issuer: 'http://127.0.0.1:9000',
      clientId: 'gateway',
      redirectUri: 'http://127.0.0.1:8080/auth/callback',
      scopes: ['profile'],
    };
    expect(() =>
      parseGatewayConfig({
        session: {},
        hybrid,
        routes: [{ prefix: '/h', upstream: 'http://127.0.0.1:1', auth: 'hybrid' }],
      }),
    ).toThrow(/hybrid\.scopes: must include openid/);
    expect(() =>
      parseGatewayConfig({
        session: {},
        hybrid: { ...hybrid, scopes: ['openid'], redirectUri: 'callback' },
        routes: [{ prefix: '/h', upstream: 'http://127.0.0.1:1', auth: 'hybrid' }],
      }),
    ).toThrow(/hybrid\.redirectUri/);
  });

  it('refuses hybrid routes and exchanging routes without the client secret, exchange without token.clientId', async () => {
    const config = parseGatewayConfig({
      session: {},
      hybrid: {
        issuer: 'http://127.0.0.1:9000',
        clientId: 'gateway',
        redirectUri: 'http://127.0.0.1:8080/auth/callback',
        scopes: ['openid'],
      },
      routes: [{ prefix: '/h', upstream: 'http://127.0.0.1:1', auth: 'hybrid' }],
    });
    await expect(createGateway(config)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: expect.stringContaining('TESSERA_GATEWAY_CLIENT_SECRET'),
    });
    const route = {
      prefix: '/t',
      upstream: 'http://127.0.0.1:1',
      auth: 'token',
      exchange: { audience: 'orders' },
    } as const;
    expect(() =>
      parseGatewayConfig({
        token: { issuer: 'http://127.0.0.1:9000', audience: 'gateway' },
        routes: [route],
      }),
    ).toThrow(/token\.clientId: required by routes\.0 \(exchange\)/);
    const exchanging = parseGatewayConfig({
      token: { issuer: 'http://127.0.0.1:9000', audience: 'gateway', clientId: 'gateway' },
      routes: [route],
    });
    await expect(createGateway(exchanging, { tokenKeys: new KeySet() })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: expect.stringContaining('routes that exchange'),
    });
  });

  it('refuses session routes without a reference key for their audience, or with a short one', async () => {
    const config = parseGatewayConfig({
      session: { store: { type: 'memory' } },
      identity: { database: 'sqlite::memory:' },
      routes: [
        { prefix: '/s', upstream: 'http://127.0.0.1:1', auth: 'session', audience: 's' },
        { prefix: '/t', upstream: 'http://127.0.0.1:1', auth: 'session', audience: 't' },
      ],
    });
    const long = { id: 'k1', secret: 'a-session-reference-key-of-32-bytes-at-least' };
    await expect(createGateway(config, {})).rejects.toThrow(/none for s, t/);
    await expect(createGateway(config, { sessionReferenceKeys: { s: long } })).rejects.toThrow(/none for t/);
    const short = createGateway(config, {
      sessionReferenceKeys: { s: long, t: { id: 'k1', secret: 'short-secret' } },
    });
    await expect(short).rejects.toThrow(/at least 32 bytes/);
    await expect(short).rejects.not.toThrow(/short-secret/);
  });

  it('names the reference minter after session.referenceName, a name a chain can carry', () => {
    const base = {
      session: { store: { type: 'memory' as const } },
      routes: [{ prefix: '/p', upstream: 'http://127.0.0.1:1', auth: 'public' as const }],
    };
    expect(parseGatewayConfig(base).session?.referenceName).toBe('gateway');
    expect(
      parseGatewayConfig({ ...base, session: { ...base.session, referenceName: 'edge-1' } }).session
        ?.referenceName,
    ).toBe('edge-1');
    expect(() =>
      parseGatewayConfig({ ...base, session: { ...base.session, referenceName: 'two words' } }),
    ).toThrow();
  });
});

describe('route table', () => {
  const table = new RouteTable(
    parseGatewayConfig({
      routes: [
        { prefix: '/', upstream: 'http://root:1', auth: 'public' },
        { prefix: '/api', upstream: 'http://api:1', auth: 'public' },
        { prefix: '/api/orders', upstream: 'http://orders:1/v1', auth: 'public', stripPrefix: true },
      ],
    }).routes,
  );

  it('takes trustProxy as a list of addresses or CIDR blocks only; true is refused', () => {
    const routes = [{ prefix: '/a', upstream: 'http://127.0.0.1:1', auth: 'public' }];
    expect(parseGatewayConfig({ routes } as never).trustProxy).toBe(false);
    expect(parseGatewayConfig({ routes, trustProxy: ['10.0.0.0/8', '::1'] } as never).trustProxy).toEqual([
      '10.0.0.0/8',
      '::1',
    ]);
    expect(problems({ routes, trustProxy: true })).toEqual([
      "defaults: trustProxy: true would believe X-Forwarded-For from anyone; list the proxies' IP addresses or CIDR blocks",
    ]);
    expect(problems({ routes, trustProxy: ['127.0.0.1', 'loopback'] })).toEqual([
      'defaults: trustProxy[1]: an IP address or a CIDR block',
    ]);
    expect(problems({ routes, trustProxy: ['10.0.0.0/255.0.0.0'] })).toEqual([
      'defaults: trustProxy[0]: an IP address or a CIDR block',
    ]);
  });

  it('picks the longest prefix on whole segments and strips it when asked', () => {
    expect(table.match('/api/orders/7?x=1')).toMatchObject({
      route: { origin: 'http://orders:1' },
      upstreamPath: '/v1/7?x=1',
    });
    expect(table.match('/api/orders')?.upstreamPath).toBe('/v1');
    expect(table.match('/api/ordersx')).toMatchObject({
      route: { origin: 'http://api:1' },
      upstreamPath: '/api/ordersx',
    });
    expect(table.match('/other')?.route.origin).toBe('http://root:1');
  });
});
