import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/kv/sqlite.js';
import { expectStorageError } from '../helpers/errors.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { describeKeyValueStoreConformance } from './conformance.js';

describeKeyValueStoreConformance('SqliteStore', async () => {
  const dir = await makeTempDir('kv-conformance');
  const path = join(dir.path, 'kv.db');
  let now = 1_700_000_000_000;
  return {
    // Each store opens its own connection to one file, as the processes of one machine would.
    open: (prefix) => new SqliteStore({ path, prefix, now: () => now }),
    advance: async (ms) => {
      now += ms;
    },
    cleanup: dir.remove,
  };
});

describe('SqliteStore', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    dir = await makeTempDir('kv-sqlite');
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('uses WAL mode and one table with an expires_at column', async () => {
    const path = join(dir.path, 'schema.db');
    const store = new SqliteStore({ path, now: () => 5_000 });
    await store.set('k', 'v', { ttlMs: 1_000 });
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT key, expires_at AS e FROM tessera_kv').all()).toEqual([
        { key: 'k', e: 6_000 },
      ]);
    } finally {
      db.close();
      await store.close();
    }
  });

  it('expires an entry exactly at its TTL on the injected clock', async () => {
    let now = 0;
    const store = new SqliteStore({ path: join(dir.path, 'clock.db'), now: () => now });
    try {
      await store.set('k', 'v', { ttlMs: 1000 });
      now = 999;
      expect(await store.get('k')).toBe('v');
      expect(await store.ttl('k')).toBe(1);
      now = 1000;
      expect(await store.get('k')).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('deletes expired rows in the periodic purge', async () => {
    let now = 0;
    const path = join(dir.path, 'purge.db');
    const store = new SqliteStore({ path, now: () => now, purgeIntervalMs: 10 });
    const db = new Database(path, { readonly: true });
    try {
      await store.set('gone', 'v', { ttlMs: 5 });
      await store.set('kept', 'v', { ttlMs: undefined });
      now = 100;
      const count = () => (db.prepare('SELECT count(*) AS n FROM tessera_kv').get() as { n: number }).n;
      for (let i = 0; i < 100 && count() !== 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(count()).toBe(1);
    } finally {
      db.close();
      await store.close();
    }
  });

  it('keeps data across reopening the file', async () => {
    const path = join(dir.path, 'reopen.db');
    const first = new SqliteStore({ path });
    await first.set('k', 'persisted', { ttlMs: undefined });
    await first.close();
    const second = new SqliteStore({ path });
    expect(await second.get('k')).toBe('persisted');
    await second.close();
  });

  it('uses a caller-owned database without closing it', async () => {
    const db = new Database(join(dir.path, 'owned.db'));
    const store = new SqliteStore({ database: db, table: 'sessions_kv' });
    await store.set('k', 'v', { ttlMs: undefined });
    await store.close();
    expect(db.open).toBe(true);
    expect(db.prepare('SELECT value FROM sessions_kv').pluck().get()).toBe('v');
    db.close();
  });

  it('throws ERR_STORAGE_UNAVAILABLE when the file cannot be opened', async () => {
    const blocker = join(dir.path, 'not-a-dir');
    await writeFile(blocker, '');
    expect(() => new SqliteStore({ path: join(blocker, 'kv.db') })).toThrow(
      expect.objectContaining({ name: 'StorageError', code: 'ERR_STORAGE_UNAVAILABLE' }),
    );
  });

  it('rejects writes with ERR_STORAGE_UNAVAILABLE when the database is read-only', async () => {
    const path = join(dir.path, 'readonly.db');
    const setup = new SqliteStore({ path });
    await setup.set('k', 'v', { ttlMs: undefined });
    await setup.close();
    const db = new Database(path, { readonly: true });
    const store = new SqliteStore({ database: db });
    try {
      expect(await store.get('k')).toBe('v');
      const error = await expectStorageError(
        store.set('k', 'secret', { ttlMs: undefined }),
        'ERR_STORAGE_UNAVAILABLE',
      );
      expect(error.message).not.toContain('secret');
      await expectStorageError(store.take('k'), 'ERR_STORAGE_UNAVAILABLE');
      await expectStorageError(store.increment('n', 1, { ttlMs: undefined }), 'ERR_STORAGE_UNAVAILABLE');
    } finally {
      await store.close();
      db.close();
    }
  });

  it('rejects with ERR_STORAGE_UNAVAILABLE when its database was closed underneath it', async () => {
    const db = new Database(join(dir.path, 'closed.db'));
    const store = new SqliteStore({ database: db });
    await store.set('k', 'v', { ttlMs: undefined });
    db.close();
    await expectStorageError(store.get('k'), 'ERR_STORAGE_UNAVAILABLE');
    await expectStorageError(
      store.compareAndSet('k', 'v', 'w', { ttlMs: undefined }),
      'ERR_STORAGE_UNAVAILABLE',
    );
    await store.close();
  });

  it('rejects a file that is not a database with ERR_STORAGE_UNAVAILABLE', async () => {
    const path = join(dir.path, 'garbage.db');
    await writeFile(path, 'this is not an SQLite database, just text that is long enough to matter');
    await chmod(path, 0o600);
    expect(() => new SqliteStore({ path })).toThrow(
      expect.objectContaining({ code: 'ERR_STORAGE_UNAVAILABLE' }),
    );
  });

  it('refuses options that cannot work, with a TesseraTypeError', () => {
    expect(() => new SqliteStore({})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => new SqliteStore({ path: join(dir.path, 'x.db'), table: 'kv; DROP TABLE x' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
  });
});
