import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/kv/sqlite.js';
import { makeTempDir } from '../helpers/temp-dir.js';

// better-sqlite3 is synchronous, so within one process atomicity is a given; these separate
// processes check that the BEGIN IMMEDIATE transactions keep it when several share one file.

const worker = fileURLToPath(new URL('./sqlite-worker.ts', import.meta.url));
const PROCESSES = 4;
const ROUNDS = 100;

describe('SqliteStore shared by several processes (docs/security.md J126)', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    dir = await makeTempDir('kv-processes');
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('keeps increment, take, compareAndSet and setAdd atomic across processes', async () => {
    const path = join(dir.path, 'shared.db');
    const setup = new SqliteStore({ path });
    for (let i = 0; i < ROUNDS; i++) await setup.set(`code-${i}`, 'one-time', { ttlMs: undefined });

    const run = promisify(execFile);
    const outputs = await Promise.all(
      Array.from({ length: PROCESSES }, () =>
        run(process.execPath, ['--import', 'tsx', worker, path, String(ROUNDS)], { timeout: 60_000 }),
      ),
    );
    const results = outputs.map(({ stdout }) => JSON.parse(stdout) as { taken: number; swapped: number });

    expect(await setup.get('counter')).toBe(String(PROCESSES * ROUNDS));
    expect(results.reduce((sum, r) => sum + r.taken, 0)).toBe(ROUNDS);
    expect(results.reduce((sum, r) => sum + r.swapped, 0)).toBe(ROUNDS);
    expect(await setup.setSize('members')).toBe(PROCESSES * ROUNDS);
    await setup.close();
  }, 60_000);
});
