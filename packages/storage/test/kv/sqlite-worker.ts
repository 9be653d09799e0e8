// Run as its own process by sqlite-processes.test.ts: hammers one SQLite file through SqliteStore.
import { SqliteStore } from '../../src/kv/sqlite.js';

const [path, rounds] = process.argv.slice(2);
const store = new SqliteStore({ path: path ?? '', busyTimeoutMs: 10_000 });
let taken = 0;
let swapped = 0;
for (let i = 0; i < Number(rounds); i++) {
  await store.increment('counter', 1, { ttlMs: undefined });
  if ((await store.take(`code-${i}`)) !== null) taken += 1;
  if (await store.compareAndSet(`lock-${i}`, null, String(process.pid), { ttlMs: undefined })) swapped += 1;
  await store.setAdd('members', [`${process.pid}-${i}`], { ttlMs: undefined });
}
await store.close();
process.stdout.write(JSON.stringify({ taken, swapped }));
