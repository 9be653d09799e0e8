// A Fastify route protected by @tessera/resource, requests/s and p99 latency, EdDSA bearer token:
// bare Fastify (the ceiling), Fastify with one bare crypto.verify on a cached key (the floor that
// signature checking sets), @fastify/jwt, ours without and with the verified-token cache (the same
// token repeated). autocannon, 50 connections, 10 s each after a 2 s warm-up, in the same run; each
// server in its own child process so autocannon's CPU is not taken from the server's event loop.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeySet, signAccessToken } from '@tessera/core';
import autocannon from 'autocannon';
import type { ServerKind } from './servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const durationS = Number(process.env.BENCH_DURATION ?? 10);
const warmupS = Number(process.env.BENCH_WARMUP ?? 2);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const rounds = Number(process.env.BENCH_ROUNDS ?? 1);

interface Row {
  readonly name: string;
  readonly rps: number;
  readonly p99: number;
  readonly bad: number;
  readonly load: string;
}

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

async function launch(kind: ServerKind): Promise<{ port: number; close(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(here, 'servers.ts'), kind], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_ISSUER: issuer, BENCH_JWKS_URI: issuer, BENCH_PUBLIC_PEM: publicPem },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /READY (\d+)/.exec(output);
      if (match?.[1] !== undefined) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited (${code})`)));
  });
  return {
    port,
    async close() {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function load(url: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections, duration: seconds, headers: { authorization: `Bearer ${token}` } });
}

async function measure(kind: ServerKind, name: string): Promise<Row> {
  const server = await launch(kind);
  try {
    const url = `http://127.0.0.1:${server.port}/orders`;
    const check = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (check.status !== 200) throw new Error(`${name}: GET /orders answered ${check.status}`);
    const tampered = await fetch(url, { headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` } });
    if (kind !== 'bare' && tampered.status !== 401)
      throw new Error(`${name}: a bad signature answered ${tampered.status}`);
    await load(url, warmupS);
    const before = loadavg()[0]?.toFixed(2) ?? '?';
    const result = await load(url, durationS);
    return {
      name,
      rps: result.requests.average,
      p99: result.latency.p99,
      bad: result.non2xx + result.errors,
      load: before,
    };
  } finally {
    await server.close();
  }
}

const contestants: readonly (readonly [ServerKind, string])[] = [
  ['bare', 'bare Fastify (ceiling)'],
  ['floor', 'Fastify + bare crypto.verify (floor)'],
  ['fastify-jwt', '@fastify/jwt'],
  ['tessera', '@tessera/resource, no cache'],
  ['tessera-cache', '@tessera/resource, verified-token cache'],
];

console.log(
  `GET /orders with an EdDSA bearer token, ${connections} connections, ${durationS} s each (+${warmupS} s warm-up), ` +
    `${rounds} round(s), servers in child processes; ${cpus().length} CPUs, Node ${process.version}, ` +
    `load average before the run ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);
const samples = new Map<string, Row[]>(contestants.map(([, name]) => [name, []]));
try {
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < contestants.length; i++) {
      const [kind, name] = contestants[(i + round) % contestants.length] as readonly [ServerKind, string];
      const row = await measure(kind, name);
      samples.get(name)?.push(row);
      console.log(
        `  round ${round + 1}: ${name}: ${Math.round(row.rps)} req/s, p99 ${row.p99} ms, load ${row.load}`,
      );
    }
  }
} finally {
  jwksServer.close();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const rows: Row[] = contestants.map(([, name]) => {
  const runs = samples.get(name) ?? [];
  return {
    name,
    rps: median(runs.map((r) => r.rps)),
    p99: median(runs.map((r) => r.p99)),
    bad: runs.reduce((sum, r) => sum + r.bad, 0),
    load: runs.map((r) => r.load).join('/'),
  };
});
const [bare, floor, jwt, ours, cached] = rows.map((row) => row.rps) as [
  number,
  number,
  number,
  number,
  number,
];
console.log(
  '\n| server | req/s | p99 ms | x bare Fastify | x crypto floor | non-2xx | load avg (1 min) before |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const row of rows) {
  console.log(
    `| ${row.name} | ${Math.round(row.rps).toLocaleString('en-US')} | ${row.p99} | ${(row.rps / bare).toFixed(2)} | ` +
      `${(row.rps / floor).toFixed(2)} | ${row.bad} | ${row.load} |`,
  );
}
console.log(
  `\ntargets: no cache >= 0.9x floor ${ours >= 0.9 * floor ? 'met' : 'NOT met'}, ahead of @fastify/jwt ` +
    `${ours > jwt ? 'met' : 'NOT met'}; cache >= 0.85x bare ${cached >= 0.85 * bare ? 'met' : 'NOT met'}`,
);
