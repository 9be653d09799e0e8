// client_credentials issuance at POST /token: requests/s and p50/p99 latency of Tessera's token
// service (SQLite; PostgreSQL too with BENCH_POSTGRES=1) versus oidc-provider 9 issuing the same
// EdDSA JWT access tokens through resource indicators, with bare Fastify (a route answering a
// token-shaped JSON) as the ceiling and bare Fastify signing one EdDSA JWT per request (no OAuth)
// as the floor a token endpoint cannot go under. autocannon at 10 and at 50 connections. Each server runs in a
// child process of its own, all started once, so autocannon's CPU is not taken from their event
// loops (BENCH_IN_PROCESS=1 runs them here); at each concurrency the contestants take turns under
// load in 2 s slices, in a balanced order, until each has had BENCH_ROUNDS x 10 s, pooled
// (bench/lib/slices.ts), as in the other HTTP benchmarks.
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Contestant, durationS, loadAll, rounds, warmupS } from '../lib/rounds.js';
import { type RunningServer, spawnServer } from '../lib/servers.js';
import {
  interleavedSlices,
  pairedRatio,
  progressEvery,
  type SliceContestant,
  type SliceTotals,
} from '../lib/slices.js';
import { printTable, rate, ratio } from '../lib/table.js';
import { CLIENT_ID, CLIENT_SECRET, SCOPE, type ServerKind, startServer } from './servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const connectionCounts = (process.env.BENCH_CONNECTIONS ?? '10,50').split(',').map(Number);
const inProcess = process.env.BENCH_IN_PROCESS === '1';
const sliceS = Number(process.env.BENCH_SLICE ?? 2);
const cycles = Math.max(1, Math.round((rounds * durationS) / sliceS));

const request = {
  method: 'POST' as const,
  path: '/token',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
  },
  body: `grant_type=client_credentials&scope=${encodeURIComponent(SCOPE)}`,
};

function launch(kind: ServerKind): Promise<RunningServer> {
  if (inProcess) return startServer(kind);
  return spawnServer(join(here, 'servers.ts'), [kind], { stderr: 'ignore' });
}

/** One real request first: a server that answers anything but a Bearer token is not measured. */
async function check(port: number, name: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/token`, {
    method: 'POST',
    headers: request.headers,
    body: request.body,
  });
  const body = (await response.json()) as { token_type?: string; access_token?: string };
  if (response.status !== 200 || body.token_type !== 'Bearer' || typeof body.access_token !== 'string') {
    throw new Error(`${name}: POST /token answered ${response.status} ${JSON.stringify(body)}`);
  }
}

const contestants: Contestant<ServerKind>[] = [
  ['bare', 'bare Fastify (no OAuth)'],
  ['floor', 'bare Fastify + one EdDSA JWT signed (floor)'],
  ['tessera', 'Tessera token service (SQLite)'],
  ['oidc-provider', 'oidc-provider 9 (JWT via resource indicators)'],
];
if (process.env.BENCH_POSTGRES === '1')
  contestants.push(['tessera-postgres', 'Tessera token service (PostgreSQL)']);

console.log(
  `client_credentials at POST /token (client_secret_basic, EdDSA JWT), ${connectionCounts.join(' and ')} connections, ` +
    `${rounds} x ${durationS} s each in slices of ${sliceS} s (+${warmupS} s warm-up), servers ` +
    `${inProcess ? 'in the benchmark process' : 'in child processes'}; ${cpus().length} CPUs, Node ${process.version}, ` +
    `load avg at start ${loadAll()}`,
);
const servers: RunningServer[] = [];
const totalsAt = new Map<number, Map<string, SliceTotals>>();
try {
  const targets: SliceContestant[] = [];
  for (const [kind, name] of contestants) {
    const server = await launch(kind);
    servers.push(server);
    await check(server.port, name);
    targets.push({
      name,
      url: `http://127.0.0.1:${server.port}${request.path}`,
      headers: request.headers,
      method: request.method,
      body: request.body,
    });
  }
  for (const connections of connectionCounts) {
    totalsAt.set(
      connections,
      await interleavedSlices(targets, {
        connections,
        sliceS,
        cycles,
        warmupS,
        report: progressEvery(6, `${connections} conn, `),
      }),
    );
  }
} finally {
  for (const server of servers.reverse()) await server.close();
}

const nameOf = (kind: ServerKind): string => contestants.find(([k]) => k === kind)?.[1] ?? kind;
const peerName = nameOf('oidc-provider');
const floorName = nameOf('floor');
const bareName = nameOf('bare');
let metPeer = true;
let metFloor = true;
const tableRows: (string | number)[][] = [];
for (const connections of connectionCounts) {
  const totals = totalsAt.get(connections) as Map<string, SliceTotals>;
  const totalsOf = (name: string): SliceTotals => totals.get(name) as SliceTotals;
  const rpsOf = (name: string): number => totalsOf(name).requests / totalsOf(name).seconds;
  for (const [kind, name] of contestants) {
    const t = totalsOf(name);
    const rps = rpsOf(name);
    if (kind === 'tessera' && rps < 2 * rpsOf(peerName)) metPeer = false;
    if (kind === 'tessera' && rps < 0.6 * rpsOf(floorName)) metFloor = false;
    tableRows.push([
      name,
      connections,
      rate(rps),
      t.latency.quantile(0.5).toFixed(2),
      t.latency.quantile(0.99).toFixed(1),
      ratio(rps, rpsOf(peerName)),
      pairedRatio(t.rates, totalsOf(peerName).rates).toFixed(2),
      ratio(rps, rpsOf(floorName)),
      pairedRatio(t.rates, totalsOf(floorName).rates).toFixed(2),
      ratio(rps, rpsOf(bareName)),
      t.bad,
    ]);
  }
}
printTable(
  [
    'server',
    'connections',
    'req/s',
    'p50 ms',
    'p99 ms',
    'x oidc-provider',
    'x oidc-provider (paired slices, median)',
    'x floor',
    'x floor (paired slices, median)',
    'x bare Fastify',
    'non-2xx/errors',
  ],
  tableRows,
);
console.log(
  `\ntargets (Tessera on SQLite, at every concurrency): >= 2x oidc-provider ${metPeer ? 'met' : 'NOT met'}; ` +
    `>= 0.6x the floor ${metFloor ? 'met' : 'NOT met'}`,
);
