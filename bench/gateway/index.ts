// The edge gateway's cost, requests/s with p50 and p99 latency: a small upstream route (bare Fastify
// answering a small JSON) called directly, through nginx (when installed: scripts/ensure-nginx.sh
// installs it), through the floor of a Node proxy (node:http + undici, no checks), through a bare
// @fastify/http-proxy, through the Tessera
// gateway in token mode (one EdDSA access token repeated, the verified-token cache on: the default)
// and through the Tessera gateway in session mode (sessions on Redis, one login, the cookie
// repeated). autocannon, 50 connections. The upstream and each proxy run in child processes of
// their own, all started once, so autocannon's CPU is not taken from their event loops; the
// contestants then take turns under load in slices of 2 s, the order rotating, until each has had
// BENCH_ROUNDS x 10 s, and each one's figures are pooled over its slices (bench/lib/slices.ts).
// The gateways log nothing (logLevel silent), so logging is not measured.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSecondsOf } from '../lib/cpu.js';
import { nginxVersion, startNginx } from '../lib/nginx.js';
import { durationS, loadAll, rounds, warmupS } from '../lib/rounds.js';
import type { RunningServer } from '../lib/servers.js';
import {
  interleavedSlices,
  pairedRatio,
  progressEvery,
  type SliceContestant,
  type SliceTotals,
} from '../lib/slices.js';
import { printTable, rate, ratio } from '../lib/table.js';
import { openGatewayFixture } from './fixture.js';
import { path, type ServerKind } from './servers.js';

type Kind = 'direct' | 'nginx' | Exclude<ServerKind, 'upstream'>;

const here = dirname(fileURLToPath(import.meta.url));
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const sliceS = Number(process.env.BENCH_SLICE ?? 2);
const cycles = Math.max(1, Math.round((rounds * durationS) / sliceS));

// nginx is installed first when it is missing (Debian's nginx-light, scripts/ensure-nginx.sh);
// where it cannot be, the script says why and the bench goes on without it.
spawnSync('sh', [join(here, '../../scripts/ensure-nginx.sh')], { stdio: 'inherit' });

// nginx joins when it is installed: it is what a team compares an edge gateway with.
const nginx = nginxVersion();
const NGINX_NAME = `${nginx ?? 'nginx'} proxy_pass (1 worker, keepalive)`;
const contestants: readonly (readonly [Kind, string])[] = [
  ['direct', 'upstream directly'],
  ...(nginx === undefined ? [] : [['nginx', NGINX_NAME] as const]),
  ['node-proxy', 'floor: node:http + undici Pool (no checks)'],
  ['proxy', 'bare @fastify/http-proxy'],
  ['gateway-token', 'Tessera gateway, token (cache on)'],
  ['gateway-session', 'Tessera gateway, session (Redis)'],
];
if (nginx === undefined) {
  console.log(
    'nginx is NOT measured: it is not installed (no /usr/sbin/nginx, or BENCH_NGINX) and could not be installed; ' +
      'run `apt-get install nginx-light` as root, then this bench again',
  );
}

const fixture = await openGatewayFixture();
const servers: RunningServer[] = [];
let totals = new Map<string, SliceTotals>();
console.log(
  `GET ${path} (small JSON upstream), ${connections} connections, ${rounds} x ${durationS} s each in slices of ${sliceS} s ` +
    `taking turns (+${warmupS} s warm-up), upstream and proxies in child processes, gateways logging nothing; ` +
    `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average before the run ${loadAll()}`,
);
try {
  const upstream = await fixture.launch('upstream');
  servers.push(upstream);
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  const targets: SliceContestant[] = [];
  for (const [kind, name] of contestants) {
    let base = upstreamUrl;
    // The CPU counted is the contestant's own process: the upstream's when called directly.
    let pid = upstream.pid;
    if (kind !== 'direct') {
      const server =
        kind === 'nginx' ? await startNginx(upstreamUrl) : await fixture.launch(kind, upstreamUrl);
      servers.push(server);
      base = `http://127.0.0.1:${server.port}`;
      pid = server.pid;
    }
    const url = `${base}${path}`;
    const headers = await fixture.credentials(kind, base);
    const check = await fetch(url, { headers });
    if (check.status !== 200) throw new Error(`${name}: GET ${path} answered ${check.status}`);
    if (kind === 'gateway-token' || kind === 'gateway-session') {
      const refused = await fetch(url);
      if (refused.status !== 401) throw new Error(`${name}: no credential answered ${refused.status}`);
    }
    targets.push({
      name,
      url,
      headers,
      ...(pid === undefined ? {} : { cpuSeconds: () => cpuSecondsOf(pid) }),
    });
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
  await fixture.close();
}

const rows = contestants.map(([, name]) => {
  const t = totals.get(name) as SliceTotals;
  return {
    name,
    rps: t.requests / t.seconds,
    p50: t.latency.quantile(0.5),
    mean: t.latency.mean(),
    p99: t.latency.quantile(0.99),
    bad: t.bad,
    rates: t.rates,
    cpuUs: (t.cpuSeconds / t.requests) * 1e6,
  };
});
const named = (name: string) => rows.find((entry) => entry.name === name) as (typeof rows)[0];
const direct = named('upstream directly');
const proxied = named('bare @fastify/http-proxy');
const tokenRow = named('Tessera gateway, token (cache on)');
const sessionRow = named('Tessera gateway, session (Redis)');
const nginxRow = nginx === undefined ? undefined : named(NGINX_NAME);

printTable(
  [
    'path',
    'req/s',
    'p50 ms',
    'mean ms',
    'p99 ms',
    'x direct',
    'x bare proxy',
    ...(nginxRow === undefined ? [] : ['x nginx', 'x nginx (paired slices)', 'p50 - nginx ms']),
    'x proxy (paired slices, median)',
    'CPU us/req',
    ...(nginxRow === undefined ? [] : ['x nginx by CPU']),
    'non-2xx',
  ],
  rows.map((row) => [
    row.name,
    rate(row.rps),
    row.p50.toFixed(2),
    row.mean.toFixed(2),
    row.p99.toFixed(1),
    ratio(row.rps, direct.rps),
    ratio(row.rps, proxied.rps),
    ...(nginxRow === undefined
      ? []
      : [
          ratio(row.rps, nginxRow.rps),
          pairedRatio(row.rates, nginxRow.rates).toFixed(2),
          (row.p50 - nginxRow.p50).toFixed(2),
        ]),
    pairedRatio(row.rates, proxied.rates).toFixed(2),
    row.cpuUs.toFixed(0),
    // What one core would serve against nginx's one worker: the inverse ratio of CPU per request.
    ...(nginxRow === undefined ? [] : [ratio(nginxRow.cpuUs, row.cpuUs)]),
    row.bad,
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
if (nginxRow !== undefined) {
  const tokenNginx = tokenRow.rps / nginxRow.rps;
  const sessionNginx = sessionRow.rps / nginxRow.rps;
  const addedP50 = tokenRow.p50 - nginxRow.p50;
  const sessionP50 = sessionRow.p50 - nginxRow.p50;
  console.log(
    `targets against nginx: token gateway >= 0.6x nginx: ${tokenNginx.toFixed(2)}x ${tokenNginx >= 0.6 ? 'met' : 'NOT met'}; ` +
      `session gateway (Redis) >= 0.45x nginx: ${sessionNginx.toFixed(2)}x ${sessionNginx >= 0.45 ? 'met' : 'NOT met'}; ` +
      `token gateway p50 - nginx p50 < 1 ms: ${addedP50.toFixed(2)} ms ${addedP50 < 1 ? 'met' : 'NOT met'} ` +
      `(session gateway: ${sessionP50.toFixed(2)} ms); ` +
      `by CPU per request: token ${ratio(nginxRow.cpuUs, tokenRow.cpuUs)}x, session ${ratio(nginxRow.cpuUs, sessionRow.cpuUs)}x nginx`,
  );
}
