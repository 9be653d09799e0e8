import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DpopProofSigner } from '@tessera/core';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/redis-server.js';
import { bin, spawnTessera } from './support/processes.js';

// `tessera token-service`'s DPoP settings through the built command as an operator runs it: the
// flags --dpop-nonce and --dpop-algs, the config file's tokenService.dpopNonce and
// tokenService.dpopAlgorithms (and their TESSERA__ variables), a flag winning over the file, and
// bad values refused before anything starts.
const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-dpop-'));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

mkdirSync(join(dir, 'data'));
const db = `sqlite:${join(dir, 'data', 'tessera.db')}`;
const env = { PATH: process.env.PATH ?? '', TESSERA_SECRET: 'cli-dpop-secret-0123456789abcdef-0123456789' };
const CLIENT_SECRET = 'worker-secret-0123456789abcdef-0123456789';
const seed = join(dir, 'seed.json');
writeFileSync(
  seed,
  JSON.stringify({
    clients: [
      {
        client_id: 'worker',
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        audiences: ['inventory'],
      },
    ],
  }),
);
const basic = `Basic ${Buffer.from(`worker:${CLIENT_SECRET}`).toString('base64')}`;

/** Runs `tessera [global] token-service ... [flags]` (with `extraEnv`) until `check` is done. */
async function withService(
  global: readonly string[],
  flags: readonly string[],
  extraEnv: Record<string, string>,
  check: (url: string) => Promise<void>,
): Promise<void> {
  const port = await freePort();
  const command = spawnTessera(
    [...global, 'token-service', '--port', String(port), '--db', db, '--seed', seed, ...flags],
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

async function token(url: string, proof: string): Promise<Response> {
  return fetch(`${url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic, dpop: proof },
    body: 'grant_type=client_credentials',
  });
}

/** A proof without a nonce is refused use_dpop_nonce with one; a proof with it gets a token. */
async function expectNonces(url: string, alg: 'EdDSA' | 'ES256'): Promise<void> {
  const signer = await DpopProofSigner.generate(alg);
  const refused = await token(url, signer.proof({ method: 'POST', url: `${url}/token` }));
  expect(refused.status).toBe(400);
  expect(await refused.json()).toMatchObject({ error: 'use_dpop_nonce' });
  const nonce = refused.headers.get('dpop-nonce');
  expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const answer = await token(
    url,
    signer.proof({ method: 'POST', url: `${url}/token`, nonce: nonce as string }),
  );
  expect(answer.status).toBe(200);
  expect(await answer.json()).toMatchObject({ token_type: 'DPoP' });
}

describe('tessera token-service DPoP settings (spawned, SQLite file)', { timeout: 180_000 }, () => {
  it('without flags or config: the default algorithms, no nonce asked for', async () => {
    await withService([], [], {}, async (url) => {
      expect(await proofAlgorithms(url)).toEqual(['EdDSA', 'Ed25519', 'ES256']);
      const signer = await DpopProofSigner.generate();
      const answer = await token(url, signer.proof({ method: 'POST', url: `${url}/token` }));
      expect(answer.status).toBe(200);
      expect(answer.headers.get('dpop-nonce')).toBeNull();
    });
  });

  it('--dpop-nonce and --dpop-algs ES256: nonces asked for, an EdDSA proof refused', async () => {
    await withService([], ['--dpop-nonce', '--dpop-algs', 'ES256'], {}, async (url) => {
      expect(await proofAlgorithms(url)).toEqual(['ES256']);
      await expectNonces(url, 'ES256');
      const eddsa = await DpopProofSigner.generate('EdDSA');
      const refused = await token(url, eddsa.proof({ method: 'POST', url: `${url}/token` }));
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
    const run = (args: string[], extraEnv: Record<string, string> = {}) => {
      const result = spawnSync(process.execPath, [bin, ...args], {
        env: { ...env, ...extraEnv },
        encoding: 'utf8',
        timeout: 15_000,
        cwd: dir,
      });
      return { status: result.status, lines: result.stderr.trim().split('\n') };
    };
    for (const algs of ['HS256', 'ES256,none', '']) {
      const refused = run(['token-service', '--db', db, '--dpop-algs', algs]);
      expect(refused.status).toBe(2);
      expect(refused.lines).toHaveLength(1);
      expect(refused.lines[0]).toMatch(/--dpop-algs/);
    }
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'tokenService:\n  dpopAlgorithms: [HS256]\n');
    const badFile = run(['--config', file, 'token-service', '--db', db]);
    expect(badFile.status).toBe(1);
    expect(badFile.lines.join(' ')).toMatch(/tokenService\.dpopAlgorithms/);
    const badEnv = run(['token-service', '--db', db], { TESSERA__TOKEN_SERVICE__DPOP_NONCE: 'yes' });
    expect(badEnv.status).toBe(1);
    expect(badEnv.lines.join(' ')).toMatch(/TOKEN_SERVICE__DPOP_NONCE|dpopNonce/);
  });
});
