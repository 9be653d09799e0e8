// Session-authenticated GET (read the session, answer a small JSON), requests/s and p99 latency:
// Fastify + @tessera/session on Redis versus Express 5 + express-session + connect-redis on the
// same Redis, and bare Fastify (no session) as the ceiling. autocannon, 50 connections, 10 s each
// after a 2 s warm-up, one after the other in the same run. Each server runs in its own child
// process, so autocannon's CPU is not taken from the server's event loop
// (BENCH_IN_PROCESS=1 runs them in this process instead, for comparison).
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteKeysWithPrefix } from '../../test/support/redis.js';
import { warmAndMeasure } from '../lib/autocannon.js';
import { type Contestant, durationS, rounds, runRounds, warmupS } from '../lib/rounds.js';
import { reportSample, type Sample, sampleOf, summarize } from '../lib/sample.js';
import { type RunningServer, spawnServer } from '../lib/servers.js';
import { printTable, rate, ratio } from '../lib/table.js';
import { redisUrl, type ServerKind, startServer } from './servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const inProcess = process.env.BENCH_IN_PROCESS === '1';
const prefix = `tessera-bench:session:${randomBytes(6).toString('hex')}:`;

function launch(kind: ServerKind): Promise<RunningServer> {
  if (inProcess) return startServer(kind, prefix);
  return spawnServer(join(here, 'servers.ts'), [kind, prefix]);
}

/** Logs in once and returns the Cookie header every benchmark request carries. */
async function login(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/login`, { method: 'POST' });
  const cookie = response.headers.get('set-cookie');
  return cookie === null ? '' : (cookie.split(';')[0] ?? '');
}

async function measure(kind: ServerKind, name: string): Promise<Sample> {
  const server = await launch(kind);
  try {
    const cookie = await login(server.port);
    const check = await fetch(`http://127.0.0.1:${server.port}/me`, { headers: { cookie } });
    if (check.status !== 200) throw new Error(`${name}: GET /me answered ${check.status}`);
    const url = `http://127.0.0.1:${server.port}/me`;
    return sampleOf(
      await warmAndMeasure({
        url,
        connections,
        headers: cookie === '' ? {} : { cookie },
      }),
    );
  } finally {
    await server.close();
  }
}

console.log(
  `session-authenticated GET /me, ${connections} connections, ${durationS} s each (+${warmupS} s warm-up), ` +
    `${rounds} round(s), servers ${inProcess ? 'in the benchmark process' : 'in child processes'}; ` +
    `${cpus().length} CPUs, Node ${process.version}`,
);
const contestants: readonly Contestant<ServerKind>[] = [
  ['bare', 'bare Fastify (no session)'],
  ['tessera', 'Fastify + @tessera/session (Redis)'],
  ['express-session', 'Express 5 + express-session + connect-redis'],
];
let samples = new Map<string, Sample[]>();
try {
  samples = await runRounds(contestants, measure, reportSample);
} finally {
  await deleteKeysWithPrefix(prefix, redisUrl);
}

const rows = contestants.map(([, name]) => ({ name, ...summarize(samples.get(name) ?? []) }));
const bareRps = rows[0]?.rps ?? 1;
const expressRps = rows[2]?.rps ?? 1;
printTable(
  [
    'server',
    'req/s',
    'p99 ms',
    'x bare Fastify',
    'x express-session',
    'non-2xx',
    'load avg (1 min) before each run',
  ],
  rows.map((row) => [
    row.name,
    rate(row.rps),
    row.p99,
    ratio(row.rps, bareRps),
    ratio(row.rps, expressRps),
    row.bad,
    row.load,
  ]),
);
const tesseraRps = rows[1]?.rps ?? 0;
const ok = tesseraRps >= 3 * expressRps && tesseraRps >= 0.5 * bareRps;
console.log(`\ntargets (>= 3x express-session, >= 0.5x bare Fastify): ${ok ? 'met' : 'NOT met'}`);
