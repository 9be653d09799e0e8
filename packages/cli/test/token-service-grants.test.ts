import { type ChildProcess, spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DpopProofSigner } from '@tessera/core';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/redis-server.js';
import { spawnTessera } from './support/processes.js';

// The token service's grant flags (access-token algorithms, refresh reuse grace, assertion
// lifetime) and its DPoP settings (--dpop-nonce and --dpop-algs, the config file's
// tokenService.dpopNonce and tokenService.dpopAlgorithms and their TESSERA__ variables, a flag
// winning over the file), through the built command as an operator runs it.
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

/** `tessera [global] token-service --db DB [args]`, run to its end. */
function usageOf(args: string[], global: string[] = [], extraEnv: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [bin, ...global, 'token-service', '--db', db, ...args], {
    env: { ...env, ...extraEnv },
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

const WORKER_SECRET = 'worker-secret-0123456789abcdef-0123456789';
const workerSeed = join(dir, 'worker-seed.json');
writeFileSync(
  workerSeed,
  JSON.stringify({
    clients: [
      {
        client_id: 'worker',
        client_secret: WORKER_SECRET,
        grant_types: ['client_credentials'],
        audiences: ['inventory'],
      },
    ],
  }),
);
const basic = `Basic ${Buffer.from(`worker:${WORKER_SECRET}`).toString('base64')}`;

/** Runs `tessera [global] token-service ... [flags]` (with `extraEnv`) until `check` is done. */
async function withService(
  global: readonly string[],
  flags: readonly string[],
  extraEnv: Record<string, string>,
  check: (url: string) => Promise<void>,
): Promise<void> {
  const port = await freePort();
  const command = spawnTessera(
    [...global, 'token-service', '--port', String(port), '--db', db, '--seed', workerSeed, ...flags],
    { env: { ...env, ...extraEnv }, cwd: dir, children },
  );
  try {
    await command.waitFor(/listening on/, 60_000);
    await check(`http://127.0.0.1:${port}`);
  } finally {
    command.child.kill('SIGTERM');
    await once(command.child, 'exit');
    children.delete(command.child);
  }
}

async function proofAlgorithms(url: string): Promise<unknown> {
  const response = await fetch(`${url}/.well-known/openid-configuration`);
  return ((await response.json()) as Record<string, unknown>).dpop_signing_alg_values_supported;
}

async function dpopToken(url: string, proof: string): Promise<Response> {
  return fetch(`${url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic, dpop: proof },
    body: 'grant_type=client_credentials',
  });
}

/** A proof without a nonce is refused use_dpop_nonce with one; a proof with it gets a token. */
async function expectNonces(url: string, alg: 'EdDSA' | 'ES256'): Promise<void> {
  const signer = await DpopProofSigner.generate(alg);
  const refused = await dpopToken(url, signer.proof({ method: 'POST', url: `${url}/token` }));
  expect(refused.status).toBe(400);
  expect(await refused.json()).toMatchObject({ error: 'use_dpop_nonce' });
  const nonce = refused.headers.get('dpop-nonce');
  expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const answer = await dpopToken(
    url,
    signer.proof({ method: 'POST', url: `${url}/token`, nonce: nonce as string }),
  );
  expect(answer.status).toBe(200);
  expect(await answer.json()).toMatchObject({ token_type: 'DPoP' });
}

describe('tessera token-service DPoP settings (spawned; docs/security.md K151)', { timeout: 180_000 }, () => {
  it('without flags or config: the default algorithms, no nonce asked for', async () => {
    await withService([], [], {}, async (url) => {
      expect(await proofAlgorithms(url)).toEqual(['EdDSA', 'Ed25519', 'ES256']);
      const signer = await DpopProofSigner.generate();
      const answer = await dpopToken(url, signer.proof({ method: 'POST', url: `${url}/token` }));
      expect(answer.status).toBe(200);
      expect(answer.headers.get('dpop-nonce')).toBeNull();
    });
  });

  it('--dpop-nonce and --dpop-algs ES256: nonces asked for, an EdDSA proof refused', async () => {
    await withService([], ['--dpop-nonce', '--dpop-algs', 'ES256'], {}, async (url) => {
      expect(await proofAlgorithms(url)).toEqual(['ES256']);
      await expectNonces(url, 'ES256');
      const eddsa = await DpopProofSigner.generate('EdDSA');
      const refused = await dpopToken(url, eddsa.proof({ method: 'POST', url: `${url}/token` }));
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ error: 'invalid_dpop_proof' });
    });
  });

  it('the config file and TESSERA__TOKEN_SERVICE__DPOP_NONCE set the same; a flag wins over the file', async () => {
    const file = join(dir, 'tessera.yaml');
    writeFileSync(file, 'tokenService:\n  dpopAlgorithms: [EdDSA, RS256]\n');
    await withService(['--config', file], [], { TESSERA__TOKEN_SERVICE__DPOP_NONCE: 'true' }, async (url) => {
      expect(await proofAlgorithms(url)).toEqual(['EdDSA', 'Ed25519', 'RS256']);
      await expectNonces(url, 'EdDSA');
    });
    await withService(['--config', file], ['--dpop-algs', 'ES256,EdDSA'], {}, async (url) => {
      expect(await proofAlgorithms(url)).toEqual(['ES256', 'EdDSA', 'Ed25519']);
    });
  });

  it('refuses bad values before anything starts: a flag exit 2, the config file exit 1, one line each', () => {
    const lines = (stderr: string) => stderr.trim().split('\n');
    for (const algs of ['HS256', 'ES256,none', '']) {
      const refused = usageOf(['--dpop-algs', algs]);
      expect(refused.status).toBe(2);
      expect(lines(refused.stderr)).toHaveLength(1);
      expect(refused.stderr).toMatch(/--dpop-algs/);
    }
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'tokenService:\n  dpopAlgorithms: [HS256]\n');
    const badFile = usageOf([], ['--config', file]);
    expect(badFile.status).toBe(1);
    expect(badFile.stderr).toMatch(/tokenService\.dpopAlgorithms/);
    const badEnv = usageOf([], [], { TESSERA__TOKEN_SERVICE__DPOP_NONCE: 'yes' });
    expect(badEnv.status).toBe(1);
    expect(badEnv.stderr).toMatch(/TOKEN_SERVICE__DPOP_NONCE|dpopNonce/);
  });
});
