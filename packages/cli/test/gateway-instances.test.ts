import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Base64url } from '@tessera/core';
import { migrateIdentity, openUserDirectory } from '@tessera/identity';
import { createSessionReferences, SESSION_REFERENCE_HEADER } from '@tessera/resource/session';
import { createDatabase } from '@tessera/storage/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deleteKeysWithPrefix,
  keysWithPrefix,
  REDIS_URL,
  randomPrefix,
} from '../../../test/support/redis.js';
import { type Echo, startUpstream, type Upstream } from '../../../test/support/upstream.js';
import { spawnTessera } from './support/processes.js';

// Two (then three) `tessera gateway` processes from one config file, sessions on the shared Redis:
// they must behave as one gateway, including when one of them dies without a chance to clean up.
const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-gateways-'));
const prefix = randomPrefix('cli-gateways');
// The gateway -> orders key, given to every instance in the environment; orders opens with it.
const ordersKey = { id: 'k1', secret: randomBytes(32).toString('base64url') };
const orders = createSessionReferences({ self: 'orders', accept: { gateway: [ordersKey] } });
const password = 'alice-password-for-two-gateways';
const children = new Set<ChildProcess>();
let upstream: Upstream;

interface Instance {
  readonly base: string;
  readonly child: ChildProcess;
}

/** Starts `tessera gateway` on a port the OS picks and resolves with its address once it listens. */
async function startGateway(config: string): Promise<Instance> {
  const command = spawnTessera(['gateway', '--config', config, '--port', '0'], {
    env: {
      PATH: process.env.PATH ?? '',
      TESSERA_SESSION_REFERENCE_KEYS: `orders=${ordersKey.id}:${ordersKey.secret}`,
    },
    cwd: dir,
    children,
  });
  const child = command.child;
  const base = (await command.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1] as string;
  return { base, child };
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

async function call(
  at: Instance,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  const response = await fetch(`${at.base}${path}`, {
    method,
    headers,
    redirect: 'manual',
    ...(body === undefined ? {} : { body }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function csrfOf(at: Instance, cookie: string): Promise<string> {
  const me = await call(at, 'GET', '/auth/me', { cookie });
  expect(me.status).toBe(200);
  return (JSON.parse(me.text) as { csrf_token: string }).csrf_token;
}

let configFile: string;
let a: Instance;
let b: Instance;
let c: Instance;

beforeAll(async () => {
  upstream = await startUpstream();
  const file = join(dir, 'identity.db');
  const db = await createDatabase({ dialect: 'sqlite', filename: file });
  try {
    await migrateIdentity(db);
    await (await openUserDirectory({ db })).create('alice', password);
  } finally {
    await db.destroy();
  }
  const config = join(dir, 'gateway.json');
  configFile = config;
  writeFileSync(
    config,
    JSON.stringify({
      session: {
        store: { type: 'redis', url: REDIS_URL, keyPrefix: prefix },
        insecureHttpLocalhost: true,
      },
      identity: { database: `sqlite:${file}` },
      logLevel: 'warn',
      routes: [
        {
          prefix: '/api/orders',
          upstream: upstream.url,
          auth: 'session',
          audience: 'orders',
          stripPrefix: true,
        },
      ],
    }),
  );
  // The third instance joins the first two on the same store; it is asked around the logout.
  [a, b, c] = (await Promise.all([startGateway(config), startGateway(config), startGateway(config)])) as [
    Instance,
    Instance,
    Instance,
  ];
}, 30_000);

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }
  await upstream?.close();
  await deleteKeysWithPrefix(prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe('tessera gateway: instances on one Redis are one gateway (spawned)', () => {
  it('keeps a session made on A going through B, after A is killed, until it is logged out', async () => {
    const login = await call(
      a,
      'POST',
      '/auth/login',
      { 'content-type': 'application/json' },
      JSON.stringify({ username: 'alice', password }),
    );
    expect(login.status).toBe(204);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(cookie).toMatch(/^tessera-sid=[A-Za-z0-9_-]{43}$/);
    const sessionId = cookie.slice('tessera-sid='.length);
    expect((await keysWithPrefix(prefix)).length).toBeGreaterThan(0);

    // B knows the session A made: /auth/me and a proxied request.
    const me = await call(b, 'GET', '/auth/me', { cookie });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.text)).toMatchObject({ username: 'alice' });
    const viaB = await call(b, 'GET', '/api/orders/mine', { cookie });
    expect(viaB.status).toBe(200);
    const echo = JSON.parse(viaB.text) as Echo;
    expect(echo.url).toBe('/mine');
    expect(echo.headers.cookie).toBeUndefined();
    const reference = String(echo.headers[SESSION_REFERENCE_HEADER]);
    expect(orders.open(reference, 'GET /mine').sessionHash).toBe(sha256Base64url(sessionId));

    // A dies without closing anything; B goes on alone.
    const killed = once(a.child, 'exit');
    a.child.kill('SIGKILL');
    expect((await killed)[1]).toBe('SIGKILL');
    await expect(fetch(`${a.base}/healthz`)).rejects.toThrow();

    const csrf = await csrfOf(b, cookie);
    expect((await call(b, 'GET', '/api/orders/mine', { cookie })).status).toBe(200);
    const refused = await call(
      b,
      'POST',
      '/api/orders/orders',
      { cookie, 'content-type': 'application/json' },
      '{}',
    );
    expect(refused.status).toBe(403);
    const posted = await call(
      b,
      'POST',
      '/api/orders/orders',
      { cookie, 'content-type': 'application/json', 'x-csrf-token': csrf },
      '{"item":1}',
    );
    expect(posted.status).toBe(200);
    const postedEcho = JSON.parse(posted.text) as Echo;
    expect(postedEcho.method).toBe('POST');
    expect(postedEcho.body).toBe('{"item":1}');
    expect(postedEcho.headers.cookie).toBeUndefined();
    expect(
      orders.open(String(postedEcho.headers[SESSION_REFERENCE_HEADER]), 'POST /orders').sessionHash,
    ).toBe(sha256Base64url(sessionId));

    // The third instance takes the session too, then refuses it, like B, once it is logged out on B.
    expect((await call(c, 'GET', '/api/orders/mine', { cookie })).status).toBe(200);
    const out = await call(b, 'POST', '/auth/logout', { cookie, 'x-csrf-token': csrf });
    expect(out.status).toBe(204);
    for (const at of [b, c]) {
      expect((await call(at, 'GET', '/auth/me', { cookie })).status).toBe(401);
      expect((await call(at, 'GET', '/api/orders/mine', { cookie })).status).toBe(401);
    }
  }, 15_000);
});

describe('tessera gateway: session reference keys from the environment (docs/security.md K133)', () => {
  async function exitOf(keys: string | undefined): Promise<{ code: number | null; output: string }> {
    const command = spawnTessera(['gateway', '--config', configFile, '--port', '0'], {
      env: {
        PATH: process.env.PATH ?? '',
        ...(keys === undefined ? {} : { TESSERA_SESSION_REFERENCE_KEYS: keys }),
      },
      cwd: dir,
      children,
    });
    const [code] = (await once(command.child, 'exit')) as [number | null];
    return { code, output: command.output() };
  }

  it('refuses to start, in one line and without the secret, on malformed keys or none for a route', async () => {
    const short = await exitOf('orders=k1:too-short-a-secret');
    expect(short.code).toBe(1);
    // One line besides the config's warnings (insecureHttpLocalhost).
    expect(
      short.output
        .trim()
        .split('\n')
        .filter((line) => !line.includes('WARNING')),
    ).toHaveLength(1);
    expect(short.output).toContain('TESSERA_SESSION_REFERENCE_KEYS');
    expect(short.output).not.toContain('too-short-a-secret');
    const twice = await exitOf(`orders=k1:${ordersKey.secret},orders=k2:${ordersKey.secret}`);
    expect(twice.code).toBe(1);
    expect(twice.output).toContain('one key mints for orders');
    expect(twice.output).not.toContain(ordersKey.secret);
    for (const keys of [undefined, `inventory=k1:${ordersKey.secret}`]) {
      const missing = await exitOf(keys);
      expect(missing.code).not.toBe(0);
      expect(missing.output).toContain('none for orders');
      expect(missing.output).not.toContain(ordersKey.secret);
    }
  }, 30_000);
});
