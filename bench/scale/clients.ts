// Clients: the token endpoint's req/s (client_credentials, client_secret_basic) with 10 and with
// 100k registered clients in SQLite, every request from a client picked at random among all of
// them, and with 100k registered of which only the first 10 call. The client cache keeps 10k
// clients for 5 s: with every one of 100k clients calling, nearly every request reads its client
// from SQLite, which is what that size measures. One client is registered through the service
// (its row is the template); the others are bulk-inserted as copies of that row with their own
// client_id, so each has the same secret.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InProcessChannel, MemoryStore } from '@tessera/storage';
import { createDatabase } from '@tessera/storage/sql';
import { openTokenService } from '@tessera/token-service';
import type autocannon from 'autocannon';
import type { RunningServer } from '../lib/servers.js';
import { closeAll, compareSizes, describeRun, launch, pick, type SizedTarget } from './flat.js';
import { audience } from './servers.js';

const sizes = (process.env.BENCH_CLIENTS ?? '10,100000').split(',').map(Number) as [number, number];
// The issuer names no path, so the endpoints are at the root of whatever port the service gets.
const issuer = 'http://127.0.0.1';
const secret = randomBytes(32);
const clientSecret = randomBytes(32).toString('base64url');
const scope = 'orders:read';
const chunk = 500;

/** A SQLite file holding the service's tables and `count` clients `client-0` .. `client-<count-1>`. */
async function filledDatabase(filename: string, count: number): Promise<void> {
  // The file is the service's: opening the service migrates it and stores its signing keys.
  const database = await createDatabase({ dialect: 'sqlite', filename });
  const store = new MemoryStore();
  const channel = new InProcessChannel();
  const service = await openTokenService({ issuer, database, store, channel, secret });
  try {
    await service.clients.upsert({
      client_id: 'client-0',
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      scopes: [scope],
      audiences: [audience],
    });
    const db = database as unknown as import('kysely').Kysely<{ oauth_clients: Record<string, unknown> }>;
    const row = await db
      .selectFrom('oauth_clients')
      .selectAll()
      .where('client_id', '=', 'client-0')
      .executeTakeFirstOrThrow();
    await db.transaction().execute(async (trx) => {
      for (let from = 1; from < count; from += chunk) {
        const rows = [];
        for (let i = from; i < Math.min(count, from + chunk); i++)
          rows.push({ ...row, client_id: `client-${i}` });
        await trx.insertInto('oauth_clients').values(rows).execute();
      }
    });
  } finally {
    await service.close();
    await store.close();
    await channel.close();
    await database.destroy();
  }
}

describeRun(`POST /token, client_credentials from a client picked at random among all registered`);
const dir = await mkdtemp(join(tmpdir(), 'tessera-bench-scale-clients-'));
const servers: RunningServer[] = [];
try {
  const env = { ...process.env, BENCH_ISSUER: issuer, BENCH_SECRET: secret.toString('base64url') };
  const targets: SizedTarget[] = [];
  for (const count of sizes) {
    const filename = join(dir, `clients-${count}.db`);
    const started = performance.now();
    await filledDatabase(filename, count);
    console.log(
      `  ${count.toLocaleString('en-US')} clients stored in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const server = await launch('token', [filename], { env });
    servers.push(server);
    const basics = Array.from(
      { length: count },
      (_, i) => `Basic ${Buffer.from(`client-${i}:${clientSecret}`).toString('base64')}`,
    );
    const url = `http://127.0.0.1:${server.port}/token`;
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const body = `grant_type=client_credentials&scope=${encodeURIComponent(scope)}`;
    for (const authorization of [basics[0], basics[count - 1]]) {
      const check = await fetch(url, {
        method: 'POST',
        headers: { ...headers, authorization: authorization ?? '' },
        body,
      });
      if (check.status !== 200) throw new Error(`${count} clients: POST /token answered ${check.status}`);
    }
    const from = (active: readonly string[]) => (request: autocannon.Request) => ({
      ...request,
      headers: { ...request.headers, authorization: pick(active) },
    });
    const sized = { url, method: 'POST', body, headers } as const;
    const label = `${count.toLocaleString('en-US')} clients`;
    // The largest size twice: the same few clients calling (what the table's size alone costs),
    // and every client calling (each request then misses the client cache: below).
    if (count === sizes[1] && count > sizes[0]) {
      const few = basics.slice(0, sizes[0]);
      targets.push({
        ...sized,
        name: `${count} few`,
        size: `${label}, ${few.length} calling`,
        requests: [{ setupRequest: from(few) }],
      });
    }
    targets.push({
      ...sized,
      name: `${count} clients`,
      size: `${label}, all calling`,
      requests: [{ setupRequest: from(basics) }],
    });
  }
  await compareSizes(targets);
} finally {
  await closeAll(servers);
  await rm(dir, { recursive: true, force: true });
}
