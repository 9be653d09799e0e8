// Sessions: the session route's req/s with 10k and with 1M sessions in Redis, and what one session
// costs Redis in bytes. Each size gets a redis-server of its own on a free port (never the shared
// 6379), started here and killed at the end. The server is bench/session's (Fastify +
// @tessera/session, the same route), pointed at that Redis; it logs one session in through the real
// manager; that stored session is the template the rest are copied from, each with its own id,
// user and CSRF secret, pipelined straight into Redis in the store's layout (the record under
// `session:s:<id hash>`, the user's index set under `session:u:<user>`, the same TTLs).
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type autocannon from 'autocannon';
import { createClient } from 'redis';
import { freePort, PrivateRedisServer } from '../../test/support/redis-server.js';
import { type RunningServer, spawnServer } from '../lib/servers.js';
import { printTable } from '../lib/table.js';
import { closeAll, compareSizes, describeRun, pick, printRatio } from './flat.js';

type Redis = ReturnType<typeof createClient>;

const sessionServer = join(dirname(fileURLToPath(import.meta.url)), '..', 'session', 'servers.ts');

const [smallSize, largeSize] = (process.env.BENCH_SESSIONS ?? '10000,1000000').split(',').map(Number) as [
  number,
  number,
];
/** Session ids kept per size to spread requests over (evenly through the fill). */
const sampleSize = 10_000;
const batch = 5000;

interface Template {
  readonly cookieName: string;
  readonly record: Record<string, unknown>;
  readonly sessionKeyPrefix: string;
  readonly userKeyPrefix: string;
  readonly sessionTtlMs: number;
  readonly userTtlMs: number;
}

/** Logs in once and reads back what the manager stored: the layout every copy follows. */
async function template(port: number, redis: Redis): Promise<Template & { readonly cookie: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/login`, { method: 'POST' });
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const [cookieName = ''] = cookie.split('=');
  const keys = await redis.keys('*');
  const sessionKey = keys.find((key) => key.includes(':s:'));
  const userKey = keys.find((key) => key.includes(':u:'));
  if (keys.length !== 2 || sessionKey === undefined || userKey === undefined) {
    throw new Error(`the login stored ${keys.join(', ')}, not one session and one index`);
  }
  const raw = (await redis.get(sessionKey)) ?? '{}';
  const record = JSON.parse(raw) as Record<string, unknown>;
  return {
    cookie,
    cookieName,
    record,
    sessionKeyPrefix: sessionKey.slice(0, sessionKey.length - String(record.idHash).length),
    userKeyPrefix: userKey.slice(0, userKey.length - String(record.userId).length),
    sessionTtlMs: await redis.pTTL(sessionKey),
    userTtlMs: await redis.pTTL(userKey),
  };
}

/** Adds sessions 1..count-1 (the login made session 0); returns an even sample of their ids. */
async function fill(redis: Redis, t: Template, count: number): Promise<string[]> {
  const every = Math.max(1, Math.floor(count / sampleSize));
  const sample: string[] = [];
  // A few pipelines in flight keep Redis busy while the next batch is encoded.
  const inFlight = new Set<Promise<unknown>>();
  for (let from = 1; from < count; from += batch) {
    const to = Math.min(count, from + batch);
    const ids = randomBytes(32 * (to - from));
    const secrets = randomBytes(32 * (to - from));
    const pipeline = redis.multi();
    for (let i = from; i < to; i++) {
      const offset = 32 * (i - from);
      const id = ids.subarray(offset, offset + 32).toString('base64url');
      const idHash = createHash('sha256').update(id).digest('base64url');
      const userId = `user-${i}`;
      const record = {
        ...t.record,
        idHash,
        userId,
        csrfSecret: secrets.subarray(offset, offset + 32).toString('base64url'),
      };
      pipeline.set(`${t.sessionKeyPrefix}${idHash}`, JSON.stringify(record), { PX: t.sessionTtlMs });
      pipeline.sAdd(`${t.userKeyPrefix}${userId}`, idHash);
      pipeline.pExpire(`${t.userKeyPrefix}${userId}`, t.userTtlMs);
      if (i % every === 0) sample.push(id);
    }
    const sent: Promise<unknown> = pipeline.execAsPipeline().finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return sample;
}

/** MEMORY USAGE of sampled records and index sets, and used_memory's growth, per session. */
async function bytesPerSession(redis: Redis, t: Template, count: number, before: number) {
  let record = 0;
  let index = 0;
  const probes = 1000;
  for (let n = 0; n < probes; n++) {
    const key = String((await redis.randomKey()) ?? '');
    const bytes = (await redis.memoryUsage(key)) ?? 0;
    if (key.startsWith(t.sessionKeyPrefix)) record += bytes;
    else index += bytes;
  }
  const used = usedMemory(await redis.info('memory'));
  // A random key is a record or an index set in equal numbers: each share is over half the probes.
  return { record: (2 * record) / probes, index: (2 * index) / probes, used: (used - before) / (count - 1) };
}

function usedMemory(info: string): number {
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

describeRun(
  `GET /me with a session cookie picked at random from ${sampleSize.toLocaleString('en-US')} of the stored sessions`,
);
const redisServers: PrivateRedisServer[] = [];
const servers: RunningServer[] = [];
const clients: Redis[] = [];
try {
  const sized = [];
  const memory = [];
  for (const count of [smallSize, largeSize]) {
    const redisServer = new PrivateRedisServer(await freePort());
    await redisServer.start();
    redisServers.push(redisServer);
    const url = `redis://127.0.0.1:${redisServer.port}`;
    const redis = createClient({ url });
    await redis.connect();
    clients.push(redis);
    const server = await spawnServer(sessionServer, ['tessera', ''], {
      env: { ...process.env, REDIS_URL: url },
    });
    servers.push(server);
    const t = await template(server.port, redis);
    const before = usedMemory(await redis.info('memory'));
    const started = performance.now();
    const ids = await fill(redis, t, count);
    const seconds = (performance.now() - started) / 1000;
    console.log(`  ${count.toLocaleString('en-US')} sessions stored in ${seconds.toFixed(1)} s`);
    if ((await redis.dbSize()) !== 2 * count)
      throw new Error(`Redis holds ${await redis.dbSize()} keys, not ${2 * count}`);
    memory.push({ count, ...(await bytesPerSession(redis, t, count, before)) });
    const url0 = `http://127.0.0.1:${server.port}/me`;
    const check = await fetch(url0, { headers: { cookie: `${t.cookieName}=${pick(ids)}` } });
    if (check.status !== 200) throw new Error(`GET /me with a copied session answered ${check.status}`);
    sized.push({
      name: `${count} sessions`,
      size: `${count.toLocaleString('en-US')} sessions`,
      url: url0,
      headers: {},
      requests: [
        {
          setupRequest: (request: autocannon.Request) => ({
            ...request,
            headers: { ...request.headers, cookie: `${t.cookieName}=${pick(ids)}` },
          }),
        },
      ],
    });
  }
  printTable(
    ['sessions', 'record bytes (MEMORY USAGE)', 'index set bytes', 'used_memory growth / session'],
    memory.map((m) => [
      m.count.toLocaleString('en-US'),
      m.record.toFixed(0),
      m.index.toFixed(0),
      m.used.toFixed(0),
    ]),
  );
  const [small, large] = memory as [(typeof memory)[number], (typeof memory)[number]];
  printRatio('used_memory bytes per session', large.used / small.used);
  const [a, b] = sized as [(typeof sized)[number], (typeof sized)[number]];
  await compareSizes([a, b]);
} finally {
  await closeAll(servers);
  for (const client of clients) await client.quit().catch(() => {});
  for (const redisServer of redisServers) await redisServer.kill();
}
