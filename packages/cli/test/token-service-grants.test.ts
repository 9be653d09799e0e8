import { type ChildProcess, spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/redis-server.js';
import { spawnTessera } from './support/processes.js';

// The token service's grant flags (access-token algorithms, refresh reuse grace, assertion
// lifetime), through the built command as an operator runs it.
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-grants-'));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

// A directory named with --db must exist (only the default .tessera/ is created).
mkdirSync(join(dir, 'data'));
const db = `sqlite:${join(dir, 'data', 'tessera.db')}`;
const env = { PATH: process.env.PATH ?? '', TESSERA_SECRET: 'cli-grants-secret-0123456789abcdef-01234567' };
const CLIENT_SECRET = 'portal-secret-0123456789abcdef-0123456789';

function usageOf(args: string[]) {
  const result = spawnSync(process.execPath, [bin, 'token-service', '--db', db, ...args], {
    env,
    encoding: 'utf8',
    timeout: 15_000,
    cwd: dir,
  });
  return { status: result.status, stderr: result.stderr };
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const algOf = (jwt: string) =>
  (JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString()) as { alg: string }).alg;

describe('tessera token-service grant flags (spawned, SQLite file)', { timeout: 60_000 }, () => {
  it('--access-token-alg-for signs that audience RS256; --client-assertion-max-lifetime bounds assertions', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const seed = join(dir, 'seed.json');
    writeFileSync(
      seed,
      JSON.stringify({
        clients: [
          {
            client_id: 'portal',
            client_secret: CLIENT_SECRET,
            grant_types: ['client_credentials'],
            scopes: ['legacy:read'],
            audiences: ['legacy', 'inventory'],
          },
          {
            client_id: 'keyed',
            jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'keyed-1', alg: 'EdDSA' }] },
            grant_types: ['client_credentials'],
            audiences: ['inventory'],
          },
        ],
      }),
    );
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const command = spawnTessera(
      [
        'token-service',
        '--port',
        String(port),
        '--db',
        db,
        '--seed',
        seed,
        '--access-token-alg-for',
        'legacy=RS256',
        '--refresh-reuse-grace',
        '5',
        '--client-assertion-max-lifetime',
        '60',
      ],
      { env, cwd: dir, children },
    );
    await command.waitFor(/listening on/, 60_000);
    const token = async (fields: Record<string, string>, authorization?: string) => {
      const response = await fetch(`${url}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(authorization === undefined ? {} : { authorization }),
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', ...fields }).toString(),
      });
      return { status: response.status, body: (await response.json()) as { access_token?: string } };
    };
    try {
      const basic = `Basic ${Buffer.from(`portal:${CLIENT_SECRET}`).toString('base64')}`;
      const legacy = await token({ audience: 'legacy' }, basic);
      expect(algOf(legacy.body.access_token as string)).toBe('RS256');
      const inventory = await token({ audience: 'inventory' }, basic);
      expect(algOf(inventory.body.access_token as string)).toBe('EdDSA');

      const assertion = (lifetimeS: number) => {
        const nowS = Math.floor(Date.now() / 1000);
        const claims = {
          iss: 'keyed',
          sub: 'keyed',
          aud: url,
          jti: `j-${lifetimeS}`,
          iat: nowS,
          exp: nowS + lifetimeS,
        };
        const input = `${encode({ alg: 'EdDSA', kid: 'keyed-1' })}.${encode(claims)}`;
        return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
      };
      const asClient = async (lifetimeS: number) =>
        token({
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion(lifetimeS),
        });
      expect((await asClient(30)).status).toBe(200);
      // Five minutes: within the default hour, beyond the 60 s given.
      expect((await asClient(300)).status).toBe(401);
    } finally {
      command.child.kill('SIGTERM');
      await once(command.child, 'exit');
      children.delete(command.child);
    }
  });

  it('refuses bad values as usage errors (exit 2, one line)', () => {
    for (const args of [
      ['--access-token-alg', 'HS256'],
      ['--access-token-alg-for', 'legacy'],
      ['--access-token-alg-for', 'legacy=none'],
      ['--refresh-reuse-grace', '301'],
      ['--client-assertion-max-lifetime', '0'],
    ]) {
      const refused = usageOf(args);
      expect(refused.status).toBe(2);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
