// What a DPoP-bound token costs a resource server (RFC 9449 7), two ways in one run:
//
// 1. Over HTTP: the same Fastify route `GET /orders` behind @tessera/resource's `bearer` source
//    (an unbound token), its `dpop` source (a bound token and a fresh proof per request, the jti
//    recorded in the store) and the floor route (checks.ts: two crypto.verify and one
//    set-if-absent, nothing else), each a child process, taking turns in slices as in
//    bench/resource. autocannon, 50 connections.
// 2. In this process, no HTTP: the check alone, each contestant given the same request the route
//    would see: `bearer`'s authenticate, `dpop`'s authenticate, and the floor, in groups of 32
//    concurrent checks (so a Redis round trip overlaps others as under load), taking turns in small
//    batches (bench/verify/measure.ts), medians of several rounds, on the memory store and on Redis.
//
// The target (issue 16): the DPoP check costs at most 1.15x the floor, where a check's cost is its
// time per request in part 2, so the ratio is floor checks/s over dpop checks/s on the same store.
//
// Every request needs a proof never seen before. Proofs are made before they are needed, outside
// what is measured: for part 1 one pool made before the load starts (BENCH_DPOP_PROOFS of them, by
// default enough for 10,000 req/s), handed out one per request by autocannon's setupRequest (which
// the bearer contestant runs too, with its fixed header, so the client does the same work for
// each); for part 2 a pool per contestant made before each round, sized from the warm-up's rate.
// Replay entries expire with their TTL (the 600 s proof window, checks.ts), under a prefix of
// this run.
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DpopProofSigner, generateSigningKey, KeySet, signAccessToken } from '@tessera/core';
import type { RequestLike } from '@tessera/resource';
import type autocannon from 'autocannon';
import { type Contestant, durationS, loadAll, rounds, warmupS } from '../lib/rounds.js';
import { type RunningServer, serveJwks, spawnServer } from '../lib/servers.js';
import {
  pairedRatio,
  type SliceContestant,
  type SliceTotals,
  sliceSettingsFromEnv,
  slicesFromEnv,
} from '../lib/slices.js';
import { median } from '../lib/stats.js';
import { printTable, rate, ratio } from '../lib/table.js';
import { interleavedRound, type Contestant as RawContestant } from '../verify/measure.js';
import { floorCheck, type StoreKind, sourceOf, storeOf } from './checks.js';
import type { ServerKind } from './servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const { connections, sliceS } = sliceSettingsFromEnv();
const httpStore = (process.env.BENCH_DPOP_STORE ?? 'redis') as StoreKind;
const poolSize = Number(process.env.BENCH_DPOP_PROOFS ?? Math.ceil((warmupS + rounds * durationS) * 10_000));
const rawRounds = Number(process.env.BENCH_RAW_ROUNDS ?? 7);
const rawRoundMs = Number(process.env.BENCH_RAW_ROUND_MS ?? 1000);
const parallel = 32;
const TARGET = 1.15;
const runPrefix = `bench-dpop-${process.pid}-${Date.now()}:`;

// The token service's part: a key set, its JWKS on node:http; the client's DPoP key.
const keys = await KeySet.generate(['EdDSA']);
const jwksServer = await serveJwks(() => keys.jwks());
const issuer = jwksServer.url;
const clientKey = await generateSigningKey('EdDSA');
const signer = new DpopProofSigner(clientKey);
const claims = { subject: 'alice', clientId: 'web', audience: 'orders', scopes: ['orders:read'] };
const bearerToken = await signAccessToken(keys, claims, { issuer, lifetime: 3600 });
const boundToken = await signAccessToken(
  keys,
  { ...claims, dpopJkt: signer.jkt },
  { issuer, lifetime: 3600 },
);
const pem = (key: { export(options: { format: 'pem'; type: 'spki' }): string | Buffer }) =>
  key.export({ format: 'pem', type: 'spki' }).toString();
const tokenPem = pem(keys.activeKey('EdDSA').publicKey);
const proofPem = pem(clientKey.publicKey);

function proofsFor(url: string, count: number): string[] {
  return Array.from({ length: count }, () => signer.proof({ method: 'GET', url, accessToken: boundToken }));
}

// --- 1. over HTTP -------------------------------------------------------------------------------

const contestants: readonly Contestant<ServerKind>[] = [
  ['bearer', '@tessera/resource bearer, unbound token'],
  ['dpop', '@tessera/resource dpop, bound token + proof'],
  ['floor', 'floor: 2 x crypto.verify + 1 set-if-absent'],
];

/** One request sequence whose every request takes the next proof of `pool`. */
interface ProofFeed {
  readonly requests: autocannon.Request[];
  used(): number;
}

function feed(headers: Record<string, string>, pool: readonly string[] | undefined): ProofFeed {
  let next = 0;
  const setupRequest = (request: autocannon.Request): autocannon.Request => {
    const proof = pool?.[next++];
    // Past the pool's end a request goes without a proof, is refused, and counts as non-2xx.
    return { ...request, headers: proof === undefined ? { ...headers } : { ...headers, dpop: proof } };
  };
  return { requests: [{ method: 'GET', path: '/orders', setupRequest }], used: () => next };
}

console.log(
  `GET /orders, EdDSA tokens and proofs, jti store ${httpStore}, ${connections} connections, ${rounds} x ${durationS} s ` +
    `each in slices of ${sliceS} s (+${warmupS} s warm-up), servers in child processes; ${cpus().length} CPUs, ` +
    `Node ${process.version}, load average before the run ${loadAll()}`,
);
const servers: RunningServer[] = [];
const feeds = new Map<ServerKind, ProofFeed>();
let totals = new Map<string, SliceTotals>();
try {
  const targets: SliceContestant[] = [];
  let pool: string[] | undefined;
  for (const [kind, name] of contestants) {
    const server = await spawnServer(join(here, 'servers.ts'), [kind], {
      env: {
        ...process.env,
        BENCH_ISSUER: issuer,
        BENCH_TOKEN_PEM: tokenPem,
        BENCH_PROOF_PEM: proofPem,
        BENCH_DPOP_STORE: httpStore,
        BENCH_PREFIX: `${runPrefix}${kind}:`,
      },
    });
    servers.push(server);
    const url = `http://127.0.0.1:${server.port}/orders`;
    if (kind === 'dpop') {
      const started = performance.now();
      pool = proofsFor(url, poolSize);
      console.log(`${rate(poolSize)} proofs made in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    const headers =
      kind === 'bearer'
        ? { authorization: `Bearer ${bearerToken}` }
        : { authorization: `DPoP ${boundToken}` };
    // Each server must accept its request and refuse a replayed proof, or the race is meaningless.
    const proof =
      kind === 'bearer' ? undefined : signer.proof({ method: 'GET', url, accessToken: boundToken });
    const first = await fetch(url, { headers: proof === undefined ? headers : { ...headers, dpop: proof } });
    if (first.status !== 200) throw new Error(`${name}: GET /orders answered ${first.status}`);
    if (proof !== undefined) {
      const replayed = await fetch(url, { headers: { ...headers, dpop: proof } });
      if (replayed.status !== 401) throw new Error(`${name}: a replayed proof answered ${replayed.status}`);
    }
    // The floor reads the same proofs (made for the dpop server's URL: it checks no htu).
    const proofFeed = feed(headers, kind === 'bearer' ? undefined : pool);
    feeds.set(kind, proofFeed);
    targets.push({ name, url, headers, requests: proofFeed.requests });
  }
  totals = await slicesFromEnv(targets);
} finally {
  for (const server of servers.reverse()) await server.close();
  jwksServer.close();
}

const rows = contestants.map(([kind, name]) => {
  const t = totals.get(name) as SliceTotals;
  return {
    kind,
    name,
    rps: t.requests / t.seconds,
    p99: t.latency.quantile(0.99),
    bad: t.bad,
    rates: t.rates,
  };
});
const [bearerRow, dpopRow, floorRow] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
printTable(
  ['server', 'req/s', 'p99 ms', 'x bearer', 'x bearer (paired slices, median)', 'proofs used', 'non-2xx'],
  rows.map((row) => [
    row.name,
    rate(row.rps),
    row.p99.toFixed(1),
    ratio(row.rps, bearerRow.rps),
    pairedRatio(row.rates, bearerRow.rates).toFixed(2),
    row.kind === 'bearer' ? '-' : rate(feeds.get(row.kind)?.used() ?? 0),
    row.bad,
  ]),
);
console.log(
  `\nper request over HTTP, dpop route / floor route: ${ratio(floorRow.rps, dpopRow.rps)}x the time ` +
    `(paired slices, median: ${(1 / pairedRatio(dpopRow.rates, floorRow.rates)).toFixed(2)}x)`,
);
if (dpopRow.bad + floorRow.bad > 0) {
  console.log(
    `NOTE: non-2xx answers: the pool of ${rate(poolSize)} proofs ran out (raise BENCH_DPOP_PROOFS); the HTTP figures are not valid`,
  );
  process.exitCode = 1;
}

// --- 2. the check alone, in process ------------------------------------------------------------

const ORIGIN = 'https://orders.bench';
const URL_ = `${ORIGIN}/orders`;

interface Pool {
  proofs: string[];
  next: number;
}

function take(pool: Pool): string {
  const proof = pool.proofs[pool.next++];
  if (proof === undefined) throw new Error('the round outran its proof pool');
  return proof;
}

async function measureRaw(kind: StoreKind): Promise<{ name: string; ops: number }[]> {
  const store = storeOf(kind, `${runPrefix}raw-${kind}:`);
  const setup = { issuer, audience: 'orders', keys: { source: keys }, store };
  const bearer = await sourceOf('bearer', setup);
  const dpop = await sourceOf('dpop', setup);
  const floor = floorCheck(tokenPem, proofPem, store);
  const pools: Pool[] = [0, 1].map(() => ({ proofs: [], next: 0 }));
  const [dpopPool, floorPool] = pools as [Pool, Pool];
  const bearerRequest: RequestLike = {
    headers: { authorization: `Bearer ${bearerToken}` },
    method: 'GET',
    url: '/orders',
    origin: ORIGIN,
  };
  const group = async (one: () => Promise<unknown>) => {
    const checks: Promise<unknown>[] = [];
    for (let i = 0; i < parallel; i++) checks.push(one());
    await Promise.all(checks);
  };
  const raw: RawContestant[] = [
    ['@tessera/resource bearer', () => group(() => bearer.authenticate(bearerRequest))],
    [
      '@tessera/resource dpop',
      () =>
        group(() =>
          dpop.authenticate({
            headers: { authorization: `DPoP ${boundToken}`, dpop: take(dpopPool) },
            method: 'GET',
            url: '/orders',
            origin: ORIGIN,
          }),
        ),
    ],
    [
      'floor: 2 x crypto.verify + 1 set-if-absent',
      () =>
        group(async () => {
          if (!(await floor(boundToken, take(floorPool)))) throw new Error('the floor refused a proof');
        }),
    ],
  ];
  const refill = (count: number) => {
    for (const pool of pools) {
      pool.proofs = proofsFor(URL_, count);
      pool.next = 0;
    }
  };
  refill(20_000);
  const warm = await interleavedRound(raw, 300);
  const fastest = Math.max(...warm.slice(1)) * parallel;
  const samples: number[][] = raw.map(() => []);
  for (let round = 0; round < rawRounds; round++) {
    refill(Math.ceil((fastest * rawRoundMs) / 1000) + 8 * parallel);
    const result = await interleavedRound(raw, rawRoundMs);
    result.forEach((groups, c) => {
      samples[c]?.push(groups * parallel);
    });
  }
  await store.close();
  return raw.map(([name], c) => ({ name, ops: median(samples[c] ?? []) }));
}

console.log(
  `\nthe check alone, in process: groups of ${parallel} concurrent checks, ${rawRounds} interleaved rounds x ${rawRoundMs} ms, medians`,
);
const rawRows: (readonly (string | number)[])[] = [];
const verdicts: string[] = [];
for (const kind of ['memory', 'redis'] as const) {
  const [bearer, dpop, floor] = (await measureRaw(kind)) as [
    { name: string; ops: number },
    { name: string; ops: number },
    { name: string; ops: number },
  ];
  for (const row of [bearer, dpop, floor]) {
    rawRows.push([kind, row.name, rate(row.ops), (1e6 / row.ops).toFixed(1), ratio(floor.ops, row.ops)]);
  }
  const cost = floor.ops / dpop.ops;
  verdicts.push(
    `${kind}: the DPoP check costs ${cost.toFixed(2)}x the floor (target <= ${TARGET}x: ${cost <= TARGET ? 'met' : 'NOT met'})`,
  );
}
printTable(['store', 'check', 'checks/s (median)', 'µs per check', 'x floor cost'], rawRows, 2);
console.log(
  "\nx floor cost = the check's time per request / the floor's (floor checks/s over its checks/s, same store)",
);
for (const verdict of verdicts) console.log(verdict);
