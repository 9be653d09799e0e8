// What every run of the gateway's servers needs, for the benchmark (index.ts) and its profile
// (profile.ts) alike: a throw-away signing key and one token the token gateway verifies
// in-process, a user directory the session gateway logs alice in against, the environment each
// server child gets, and the credential each contestant is called with.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AccessTokenSigner, exportSigningKey, KeySet } from '@tessera/core';
import { migrateIdentity, openUserDirectory } from '@tessera/identity';
import { createDatabase, parseDatabaseUrl } from '@tessera/storage/sql';
import { deleteKeysWithPrefix } from '../../test/support/redis.js';
import { type RunningServer, spawnServer } from '../lib/servers.js';
import { audience, issuer, redisUrl, type ServerKind } from './servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const password = 'bench-password-not-for-production';

export interface GatewayFixture {
  /** Starts one server of servers.ts in a child process (`nodeArgs` before the script: --cpu-prof). */
  launch(kind: ServerKind, target?: string, nodeArgs?: readonly string[]): Promise<RunningServer>;
  /** The headers a contestant is called with at `base`: none, the bearer token or a session cookie. */
  credentials(kind: string, base: string): Promise<Record<string, string>>;
  /** Removes the Redis keys and files the run made. */
  close(): Promise<void>;
}

/** Logs in once on the session gateway and returns the Cookie header every request carries. */
async function login(base: string): Promise<string> {
  const response = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password }),
  });
  if (response.status !== 204) throw new Error(`POST /auth/login answered ${response.status}`);
  return response.headers.get('set-cookie')?.split(';')[0] ?? '';
}

export async function openGatewayFixture(): Promise<GatewayFixture> {
  const prefix = `tessera-bench:gateway:${randomBytes(6).toString('hex')}:`;
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-gateway-'));
  const database = join(dir, 'identity.db');

  // The token service's part: a throw-away key the token gateway gets in-process, one token.
  const keys = await KeySet.generate(['EdDSA']);
  const token = new AccessTokenSigner({ keys, issuer, lifetime: 3600 }).issue({
    subject: 'alice',
    clientId: 'bench',
    audience,
    scopes: ['orders:read'],
  }).token;

  const db = await createDatabase(parseDatabaseUrl(`sqlite:${database}`));
  try {
    await migrateIdentity(db);
    await (await openUserDirectory({ db })).create('alice', password);
  } finally {
    await db.destroy();
  }

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BENCH_SIGNING_KEY: JSON.stringify(await exportSigningKey(keys.activeKey('EdDSA'))),
    BENCH_SESSION_SECRET: randomBytes(32).toString('base64url'),
    BENCH_REDIS_PREFIX: prefix,
    BENCH_IDENTITY_DB: database,
  };

  return {
    launch: (kind, target = '', nodeArgs = []) =>
      spawnServer(join(here, 'servers.ts'), [kind, target], { env, nodeArgs }),
    async credentials(kind, base) {
      if (kind === 'gateway-token') return { authorization: `Bearer ${token}` };
      if (kind === 'gateway-session') return { cookie: await login(base) };
      return {};
    },
    async close() {
      await deleteKeysWithPrefix(prefix, redisUrl);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
