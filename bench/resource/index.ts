// A Fastify route protected by @tessera/resource, requests/s and p99 latency, EdDSA bearer token:
// bare Fastify (the ceiling), Fastify with one bare crypto.verify on a cached key (the floor that
// signature checking sets), @fastify/jwt, ours without and with the verified-token cache (the same
// token repeated). autocannon, 50 connections. Each server runs in a child process of its own, all
// started once, so autocannon's CPU is not taken from their event loops; the contestants then take
// turns under load in slices of 2 s, the order rotating, until each has had BENCH_ROUNDS x 10 s,
// and each one's figures are pooled over its slices (bench/lib/slices.ts), as in bench/gateway.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeySet, signAccessToken } from '@tessera/core';
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
import type { ServerKind } from './servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const sliceS = Number(process.env.BENCH_SLICE ?? 2);
const cycles = Math.max(1, Math.round((rounds * durationS) / sliceS));

// The token service's part: a key set, its JWKS on node:http, one long-lived token.
const keys = await KeySet.generate(['EdDSA']);
const jwksServer = createServer((_request, response) => {
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(keys.jwks()));
});
jwksServer.listen(0, '127.0.0.1');
await once(jwksServer, 'listening');
const issuer = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
const token = await signAccessToken(
  keys,
  { subject: 'alice', clientId: 'web', audience: 'orders', scopes: ['orders:read'] },
  { issuer, lifetime: 3600 },
);
const publicPem = keys.activeKey('EdDSA').publicKey.export({ format: 'pem', type: 'spki' }).toString();

function launch(kind: ServerKind): Promise<RunningServer> {
  return spawnServer(join(here, 'servers.ts'), [kind], {
    env: { ...process.env, BENCH_ISSUER: issuer, BENCH_JWKS_URI: issuer, BENCH_PUBLIC_PEM: publicPem },
  });
}

const contestants: readonly Contestant<ServerKind>[] = [
  ['bare', 'bare Fastify (ceiling)'],
  ['floor', 'Fastify + bare crypto.verify (floor)'],
  ['fastify-jwt', '@fastify/jwt'],
  ['tessera', '@tessera/resource, no cache'],
  ['tessera-cache', '@tessera/resource, verified-token cache'],
];

console.log(
  `GET /orders with an EdDSA bearer token, ${connections} connections, ${rounds} x ${durationS} s each in slices of ` +
    `${sliceS} s (+${warmupS} s warm-up), servers in child processes; ${cpus().length} CPUs, Node ${process.version}, ` +
    `load average before the run ${loadAll()}`,
);
const headers = { authorization: `Bearer ${token}` };
const servers: RunningServer[] = [];
let totals = new Map<string, SliceTotals>();
try {
  const targets: SliceContestant[] = [];
  for (const [kind, name] of contestants) {
    const server = await launch(kind);
    servers.push(server);
    const url = `http://127.0.0.1:${server.port}/orders`;
    const check = await fetch(url, { headers });
    if (check.status !== 200) throw new Error(`${name}: GET /orders answered ${check.status}`);
    const tampered = await fetch(url, { headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` } });
    if (kind !== 'bare' && tampered.status !== 401)
      throw new Error(`${name}: a bad signature answered ${tampered.status}`);
    targets.push({ name, url, headers });
  }
  totals = await interleavedSlices(targets, {
    connections,
    sliceS,
    cycles,
    warmupS,
    report: progressEvery(5),
  });
} finally {
  for (const server of servers.reverse()) await server.close();
  jwksServer.close();
}

const rows = contestants.map(([, name]) => {
  const t = totals.get(name) as SliceTotals;
  return { name, rps: t.requests / t.seconds, p99: t.latency.quantile(0.99), bad: t.bad, rates: t.rates };
});
const [bare, floor, jwt, ours, cached] = rows as [
  (typeof rows)[0],
  (typeof rows)[0],
  (typeof rows)[0],
  (typeof rows)[0],
  (typeof rows)[0],
];
const paired = (row: (typeof rows)[0], base: (typeof rows)[0]) => pairedRatio(row.rates, base.rates);
printTable(
  [
    'server',
    'req/s',
    'p99 ms',
    'x bare Fastify',
    'x crypto floor',
    'x bare (paired slices, median)',
    'x floor (paired slices, median)',
    'non-2xx',
  ],
  rows.map((row) => [
    row.name,
    rate(row.rps),
    row.p99.toFixed(1),
    ratio(row.rps, bare.rps),
    ratio(row.rps, floor.rps),
    paired(row, bare).toFixed(2),
    paired(row, floor).toFixed(2),
    row.bad,
  ]),
);
console.log(
  `\ntargets: no cache >= 0.9x floor ${ours.rps >= 0.9 * floor.rps ? 'met' : 'NOT met'}, ahead of @fastify/jwt ` +
    `${ours.rps > jwt.rps ? 'met' : 'NOT met'}; cache >= 0.85x bare ${cached.rps >= 0.85 * bare.rps ? 'met' : 'NOT met'}`,
);
