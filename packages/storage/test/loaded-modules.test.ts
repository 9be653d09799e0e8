import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modulesLoadedBy, modulesOf } from '../../../test/support/loaded-modules.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-storage-loaded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The native SQLite addon and the PostgreSQL driver load when a store or database of their kind
// opens: a process on memory or Redis alone never loads them.
describe('the drivers this package loads', () => {
  it('loads none on import of either entry, nor for a memory store', async () => {
    const loaded = await modulesLoadedBy(`
      const { MemoryStore } = await import('@tessera/storage');
      await import('@tessera/storage/sql');
      const store = new MemoryStore();
      await store.set('k', 'v', { ttlMs: undefined });
      await store.close();
    `);
    expect(loaded.some((url) => url.includes('/packages/storage/dist/kv/sqlite.js'))).toBe(true);
    expect(modulesOf(loaded, 'better-sqlite3')).toEqual([]);
    expect(modulesOf(loaded, 'pg')).toEqual([]);
  });

  it('loads better-sqlite3 when a SQLite store opens', async () => {
    const loaded = await modulesLoadedBy(`
      const { SqliteStore } = await import('@tessera/storage');
      const store = new SqliteStore({ path: ${JSON.stringify(join(dir, 'store.db'))} });
      await store.close();
    `);
    expect(modulesOf(loaded, 'better-sqlite3')).not.toEqual([]);
    expect(modulesOf(loaded, 'pg')).toEqual([]);
  });
});
