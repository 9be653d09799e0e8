// Session-authenticated GET (read the session, answer a small JSON), requests/s and p99 latency:
// Fastify + @tessera/session on Redis versus Express 5 + express-session + connect-redis on the
// same Redis, and bare Fastify (no session) as the ceiling. autocannon, 50 connections. Each server
// runs in a child process of its own, all started once, so autocannon's CPU is not taken from
// their event loops (BENCH_IN_PROCESS=1 runs them in this process instead, for comparison); the
// contestants then take turns under load in 2 s slices, in a balanced order, until each has had
// BENCH_ROUNDS x 10 s, pooled (bench/lib/slices.ts), as in bench/gateway and bench/resource.
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteKeysWithPrefix } from '../../test/support/redis.js';
import { type Contestant, durationS, rounds, warmupS } from '../lib/rounds.js';
import { type RunningServer, spawnServer } from '../lib/servers.js';
import {
  interleavedSlices,
  pairedRatio,
  progressEvery,
  type SliceContestant,
  type SliceTotals,
} from '../lib/slices.js';
import { printTable, rate, ratio } from '../lib/table.js';
import { redisUrl, type ServerKind, startServer } from './servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const sliceS = Number(process.env.BENCH_SLICE ?? 2);
const cycles = Math.max(1, Math.round((rounds * durationS) / sliceS));
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

console.log(
  `session-authenticated GET /me, ${connections} connections, ${rounds} x ${durationS} s each in slices of ${sliceS} s ` +
    `(+${warmupS} s warm-up), servers ${inProcess ? 'in the benchmark process' : 'in child processes'}; ` +
    `${cpus().length} CPUs, Node ${process.version}`,
);
const contestants: readonly Contestant<ServerKind>[] = [
  ['bare', 'bare Fastify (no session)'],
  ['tessera', 'Fastify + @tessera/session (Redis)'],
  ['express-session', 'Express 5 + express-session + connect-redis'],
];
const servers: RunningServer[] = [];
let totals = new Map<string, SliceTotals>();
try {
  const targets: SliceContestant[] = [];
  for (const [kind, name] of contestants) {
    const server = await launch(kind);
    servers.push(server);
    const cookie = await login(server.port);
    const url = `http://127.0.0.1:${server.port}/me`;
    const check = await fetch(url, { headers: { cookie } });
    if (check.status !== 200) throw new Error(`${name}: GET /me answered ${check.status}`);
    targets.push({ name, url, headers: cookie === '' ? {} : { cookie } });
  }
  totals = await interleavedSlices(targets, {
    connections,
    sliceS,
    cycles,
    warmupS,
    report: progressEvery(6),
  });
} finally {
  for (const server of servers.reverse()) await server.close();
  await deleteKeysWithPrefix(prefix, redisUrl);
}

const rows = contestants.map(([, name]) => {
  const t = totals.get(name) as SliceTotals;
  return { name, rps: t.requests / t.seconds, p99: t.latency.quantile(0.99), bad: t.bad, rates: t.rates };
});
const [bare, tessera, express] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
const paired = (row: (typeof rows)[0], base: (typeof rows)[0]) => pairedRatio(row.rates, base.rates);
printTable(
  [
    'server',
    'req/s',
    'p99 ms',
    'x bare Fastify',
    'x express-session',
    'x bare (paired slices, median)',
    'x express-session (paired slices, median)',
    'non-2xx',
  ],
  rows.map((row) => [
    row.name,
    rate(row.rps),
    row.p99.toFixed(1),
    ratio(row.rps, bare.rps),
    ratio(row.rps, express.rps),
    paired(row, bare).toFixed(2),
    paired(row, express).toFixed(2),
    row.bad,
  ]),
);
const ok = tessera.rps >= 3 * express.rps && tessera.rps >= 0.5 * bare.rps;
console.log(`\ntargets (>= 3x express-session, >= 0.5x bare Fastify): ${ok ? 'met' : 'NOT met'}`);
