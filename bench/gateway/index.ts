// The edge gateway's cost, requests/s with p50 and p99 latency: a small upstream route (bare Fastify
// answering a small JSON) called directly, through a bare @fastify/http-proxy, through the Tessera
// gateway in token mode (one EdDSA access token repeated, the verified-token cache on: the default)
// and through the Tessera gateway in session mode (sessions on Redis, one login, the cookie
// repeated). autocannon, 50 connections, 10 s each after a 2 s warm-up, in the same run; the
// upstream and each proxy in child processes of their own, so autocannon's CPU is not taken from
// their event loops. The gateways log nothing (logLevel silent), so logging is not measured.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AccessTokenSigner, exportSigningKey, KeySet } from '@tessera/core';
import { migrateIdentity, openUserDirectory } from '@tessera/identity';
import { createDatabase, parseDatabaseUrl } from '@tessera/storage/sql';
import { deleteKeysWithPrefix } from '../../test/support/redis.js';
import { warmAndMeasure } from '../lib/autocannon.js';
import { type Contestant, durationS, loadAll, rounds, runRounds, warmupS } from '../lib/rounds.js';
import { type Sample, sampleOf, summarize } from '../lib/sample.js';
import { type RunningServer, spawnServer } from '../lib/servers.js';
import { median } from '../lib/stats.js';
import { printTable, rate, ratio } from '../lib/table.js';
import { audience, issuer, path, redisUrl, type ServerKind } from './servers.js';

type Kind = 'direct' | Exclude<ServerKind, 'upstream'>;

/**
 * The shared figures plus the median latency, which the p50 target needs, and the mean, both to the
 * microsecond from every answer's own timing (autocannon's histogram keeps whole milliseconds, so
 * its p50 of two contestants differs by 0 or 1 ms and cannot show "under 1 ms").
 */
interface GatewaySample extends Sample {
  readonly p50: number;
  readonly mean: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const prefix = `tessera-bench:gateway:${randomBytes(6).toString('hex')}:`;
const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-gateway-'));
const database = join(dir, 'identity.db');
const password = 'bench-password-not-for-production';

// The token service's part: a throw-away key the token gateway gets in-process, one token.
const keys = await KeySet.generate(['EdDSA']);
const token = new AccessTokenSigner({ keys, issuer, lifetime: 3600 }).issue({
  subject: 'alice',
  clientId: 'bench',
  audience,
  scopes: ['orders:read'],
}).token;

// The user directory the session gateway logs alice in against.
{
  const db = await createDatabase(parseDatabaseUrl(`sqlite:${database}`));
  try {
    await migrateIdentity(db);
    await (await openUserDirectory({ db })).create('alice', password);
  } finally {
    await db.destroy();
  }
}

const childEnv: NodeJS.ProcessEnv = {
  ...process.env,
  BENCH_SIGNING_KEY: JSON.stringify(await exportSigningKey(keys.activeKey('EdDSA'))),
  BENCH_SESSION_SECRET: randomBytes(32).toString('base64url'),
  BENCH_REDIS_PREFIX: prefix,
  BENCH_IDENTITY_DB: database,
};

function launch(kind: ServerKind, target = ''): Promise<RunningServer> {
  return spawnServer(join(here, 'servers.ts'), [kind, target], { env: childEnv });
}

/** Logs in once on the session gateway and returns the Cookie header every request carries. */
async function login(base: string): Promise<string> {
  const response = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password }),
  });
  if (response.status !== 204) throw new Error(`POST /auth/login answered ${response.status}`);
  return response.headers.get('set-cookie')?.split(';')[0] ?? '';
}

/** The credential each contestant is called with: none, a bearer token or a session cookie. */
async function credentials(kind: Kind, base: string): Promise<Record<string, string>> {
  if (kind === 'gateway-token') return { authorization: `Bearer ${token}` };
  if (kind === 'gateway-session') return { cookie: await login(base) };
  return {};
}

const upstream = await launch('upstream');
const upstreamUrl = `http://127.0.0.1:${upstream.port}`;

async function measure(kind: Kind, name: string): Promise<GatewaySample> {
  const server = kind === 'direct' ? undefined : await launch(kind, upstreamUrl);
  try {
    const base = server === undefined ? upstreamUrl : `http://127.0.0.1:${server.port}`;
    const url = `${base}${path}`;
    const headers = await credentials(kind, base);
    const check = await fetch(url, { headers });
    if (check.status !== 200) throw new Error(`${name}: GET ${path} answered ${check.status}`);
    if (kind === 'gateway-token' || kind === 'gateway-session') {
      const refused = await fetch(url);
      if (refused.status !== 401) throw new Error(`${name}: no credential answered ${refused.status}`);
    }
    const measured = await warmAndMeasure({ url, connections, headers });
    return { ...sampleOf(measured), p50: measured.exact.p50, mean: measured.exact.mean };
  } finally {
    await server?.close();
  }
}

/** reportSample's progress line with the p50 added. */
function reportGatewaySample(round: number, name: string, sample: GatewaySample): void {
  console.log(
    `  round ${round}: ${name}: ${Math.round(sample.rps)} req/s, p50 ${sample.p50.toFixed(2)} ms (mean ${sample.mean.toFixed(2)}), p99 ${sample.p99} ms, ` +
      `load ${sample.load}`,
  );
}

const contestants: readonly Contestant<Kind>[] = [
  ['direct', 'upstream directly'],
  ['proxy', 'bare @fastify/http-proxy'],
  ['gateway-token', 'Tessera gateway, token (cache on)'],
  ['gateway-session', 'Tessera gateway, session (Redis)'],
];

console.log(
  `GET ${path} (small JSON upstream), ${connections} connections, ${durationS} s each (+${warmupS} s warm-up), ` +
    `${rounds} round(s), upstream and proxies in child processes, gateways logging nothing; ` +
    `${cpus().length} CPUs, Node ${process.version}, load average before the run ${loadAll()}`,
);
let samples = new Map<string, GatewaySample[]>();
try {
  samples = await runRounds(contestants, measure, reportGatewaySample);
} finally {
  await upstream.close();
  await deleteKeysWithPrefix(prefix, redisUrl);
  rmSync(dir, { recursive: true, force: true });
}

const rows = contestants.map(([, name]) => {
  const runs = samples.get(name) ?? [];
  return {
    name,
    ...summarize(runs),
    p50: median(runs.map((r) => r.p50)),
    mean: median(runs.map((r) => r.mean)),
  };
});
const [direct, proxied, tokenRow, sessionRow] = rows as [
  (typeof rows)[0],
  (typeof rows)[0],
  (typeof rows)[0],
  (typeof rows)[0],
];
printTable(
  [
    'path',
    'req/s',
    'p50 ms',
    'mean ms',
    'p99 ms',
    'x direct',
    'x bare proxy',
    'non-2xx',
    'load avg (1 min) before',
  ],
  rows.map((row) => [
    row.name,
    rate(row.rps),
    row.p50.toFixed(2),
    row.mean.toFixed(2),
    row.p99,
    ratio(row.rps, direct.rps),
    ratio(row.rps, proxied.rps),
    row.bad,
    row.load,
  ]),
);
const tokenRatio = tokenRow.rps / proxied.rps;
const tokenP50 = tokenRow.p50 - proxied.p50;
const tokenMean = tokenRow.mean - proxied.mean;
const sessionRatio = sessionRow.rps / proxied.rps;
console.log(
  `\ntargets: token gateway >= 0.8x bare proxy: ${tokenRatio.toFixed(2)}x ${tokenRatio >= 0.8 ? 'met' : 'NOT met'}; ` +
    `token gateway p50 - bare proxy p50 < 1 ms: ${tokenP50.toFixed(2)} ms ${tokenP50 < 1 ? 'met' : 'NOT met'} ` +
    `(mean latency added: ${tokenMean.toFixed(2)} ms); ` +
    `session gateway (Redis) >= 0.6x bare proxy: ${sessionRatio.toFixed(2)}x ${sessionRatio >= 0.6 ? 'met' : 'NOT met'}`,
);
