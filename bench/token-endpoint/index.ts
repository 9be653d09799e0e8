// client_credentials issuance at POST /token: requests/s and p50/p99 latency of Tessera's token
// service (SQLite; PostgreSQL too with BENCH_POSTGRES=1) versus oidc-provider 9 issuing the same
// EdDSA JWT access tokens through resource indicators, with bare Fastify (a route answering a
// token-shaped JSON) as the ceiling. autocannon, 10 s at 10 and at 50 connections after a 2 s
// warm-up, one server after the other in the same run, each in its own child process so
// autocannon's CPU is not taken from the server's event loop (BENCH_IN_PROCESS=1 runs them here).
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { warmAndMeasure } from '../lib/autocannon.js';
import { type Contestant, durationS, loadAll, rounds, runRounds, warmupS } from '../lib/rounds.js';
import { type RunningServer, spawnServer } from '../lib/servers.js';
import { median } from '../lib/stats.js';
import { printTable, rate, ratio } from '../lib/table.js';
import { CLIENT_ID, CLIENT_SECRET, SCOPE, type ServerKind, startServer } from './servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const connectionCounts = (process.env.BENCH_CONNECTIONS ?? '10,50').split(',').map(Number);
const inProcess = process.env.BENCH_IN_PROCESS === '1';

const request = {
  method: 'POST' as const,
  path: '/token',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
  },
  body: `grant_type=client_credentials&scope=${encodeURIComponent(SCOPE)}`,
};

interface Sample {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly bad: number;
  readonly load: string;
}

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

async function measure(kind: ServerKind, name: string): Promise<Map<number, Sample>> {
  const server = await launch(kind);
  const samples = new Map<number, Sample>();
  try {
    await check(server.port, name);
    for (const connections of connectionCounts) {
      const { result, load } = await warmAndMeasure({
        url: `http://127.0.0.1:${server.port}`,
        connections,
        requests: [request],
      });
      samples.set(connections, {
        rps: result.requests.average,
        p50: result.latency.p50,
        p99: result.latency.p99,
        bad: result.non2xx + result.errors + result.timeouts,
        load,
      });
    }
  } finally {
    await server.close();
  }
  return samples;
}

const contestants: Contestant<ServerKind>[] = [
  ['bare', 'bare Fastify (no OAuth)'],
  ['tessera', 'Tessera token service (SQLite)'],
  ['oidc-provider', 'oidc-provider 9 (JWT via resource indicators)'],
];
if (process.env.BENCH_POSTGRES === '1')
  contestants.push(['tessera-postgres', 'Tessera token service (PostgreSQL)']);

console.log(
  `client_credentials at POST /token (client_secret_basic, EdDSA JWT), ${connectionCounts.join(' and ')} connections, ` +
    `${durationS} s each (+${warmupS} s warm-up), ${rounds} round(s), servers ` +
    `${inProcess ? 'in the benchmark process' : 'in child processes'}; ${cpus().length} CPUs, Node ${process.version}, ` +
    `load avg at start ${loadAll()}`,
);
const runs = await runRounds(contestants, measure, (round, name, samples) => {
  for (const [connections, sample] of samples) {
    console.log(
      `  round ${round}: ${name}, ${connections} conn: ${Math.round(sample.rps)} req/s, ` +
        `p50 ${sample.p50} ms, p99 ${sample.p99} ms, load ${sample.load}`,
    );
  }
});

const figure = (name: string, connections: number, pick: (sample: Sample) => number) =>
  median((runs.get(name) ?? []).map((samples) => pick(samples.get(connections) as Sample)));

let met = true;
const tableRows: (string | number)[][] = [];
for (const connections of connectionCounts) {
  const bareRps = figure(contestants[0]?.[1] ?? '', connections, (s) => s.rps);
  const peerRps = figure(contestants[2]?.[1] ?? '', connections, (s) => s.rps);
  for (const [kind, name] of contestants) {
    const rps = figure(name, connections, (s) => s.rps);
    if (kind === 'tessera' && rps < 2 * peerRps) met = false;
    const bad = (runs.get(name) ?? []).reduce(
      (sum, samples) => sum + (samples.get(connections)?.bad ?? 0),
      0,
    );
    const loads = (runs.get(name) ?? []).map((samples) => samples.get(connections)?.load ?? '?').join('/');
    tableRows.push([
      name,
      connections,
      rate(rps),
      figure(name, connections, (s) => s.p50),
      figure(name, connections, (s) => s.p99),
      ratio(rps, peerRps),
      ratio(rps, bareRps),
      bad,
      loads,
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
    'x bare Fastify',
    'non-2xx/errors',
    'load avg (1 min)',
  ],
  tableRows,
);
console.log(
  `\ntarget (Tessera on SQLite >= 2x oidc-provider at every concurrency): ${met ? 'met' : 'NOT met'}`,
);
