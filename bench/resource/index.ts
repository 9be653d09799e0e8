// A Fastify route protected by @tessera/resource, requests/s and p99 latency, EdDSA bearer token:
// bare Fastify (the ceiling), Fastify with one bare crypto.verify on a cached key (the floor that
// signature checking sets), @fastify/jwt, ours without and with the verified-token cache (the same
// token repeated). autocannon, 50 connections, 10 s each after a 2 s warm-up, in the same run; each
// server in its own child process so autocannon's CPU is not taken from the server's event loop.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeySet, signAccessToken } from '@tessera/core';
import { warmAndMeasure } from '../lib/autocannon.js';
import { type Contestant, durationS, loadAll, rounds, runRounds, warmupS } from '../lib/rounds.js';
import { reportSample, type Sample, sampleOf, summarize } from '../lib/sample.js';
import { type RunningServer, spawnServer } from '../lib/servers.js';
import { printTable, rate, ratio } from '../lib/table.js';
import type { ServerKind } from './servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);

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

async function measure(kind: ServerKind, name: string): Promise<Sample> {
  const server = await launch(kind);
  try {
    const url = `http://127.0.0.1:${server.port}/orders`;
    const check = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (check.status !== 200) throw new Error(`${name}: GET /orders answered ${check.status}`);
    const tampered = await fetch(url, { headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` } });
    if (kind !== 'bare' && tampered.status !== 401)
      throw new Error(`${name}: a bad signature answered ${tampered.status}`);
    return sampleOf(
      await warmAndMeasure({
        url,
        connections,
        headers: { authorization: `Bearer ${token}` },
      }),
    );
  } finally {
    await server.close();
  }
}

const contestants: readonly Contestant<ServerKind>[] = [
  ['bare', 'bare Fastify (ceiling)'],
  ['floor', 'Fastify + bare crypto.verify (floor)'],
  ['fastify-jwt', '@fastify/jwt'],
  ['tessera', '@tessera/resource, no cache'],
  ['tessera-cache', '@tessera/resource, verified-token cache'],
];

console.log(
  `GET /orders with an EdDSA bearer token, ${connections} connections, ${durationS} s each (+${warmupS} s warm-up), ` +
    `${rounds} round(s), servers in child processes; ${cpus().length} CPUs, Node ${process.version}, ` +
    `load average before the run ${loadAll()}`,
);
let samples = new Map<string, Sample[]>();
try {
  samples = await runRounds(contestants, measure, reportSample);
} finally {
  jwksServer.close();
}

const rows = contestants.map(([, name]) => ({ name, ...summarize(samples.get(name) ?? []) }));
const [bare, floor, jwt, ours, cached] = rows.map((row) => row.rps) as [
  number,
  number,
  number,
  number,
  number,
];
printTable(
  ['server', 'req/s', 'p99 ms', 'x bare Fastify', 'x crypto floor', 'non-2xx', 'load avg (1 min) before'],
  rows.map((row) => [
    row.name,
    rate(row.rps),
    row.p99,
    ratio(row.rps, bare),
    ratio(row.rps, floor),
    row.bad,
    row.load,
  ]),
);
console.log(
  `\ntargets: no cache >= 0.9x floor ${ours >= 0.9 * floor ? 'met' : 'NOT met'}, ahead of @fastify/jwt ` +
    `${ours > jwt ? 'met' : 'NOT met'}; cache >= 0.85x bare ${cached >= 0.85 * bare ? 'met' : 'NOT met'}`,
);
