// Where one contestant of bench/gateway spends its CPU: `npx tsx bench/gateway/profile.ts KIND
// [SECONDS]` (KIND: proxy, gateway-token, gateway-session) starts the upstream and that server
// under `--cpu-prof`, loads it as the bench does (autocannon, BENCH_CONNECTIONS, 50 by default)
// for SECONDS (10) after a warm-up, stops it and prints its self time by package and by function.
// The .cpuprofile is kept (its path is printed) for Chrome DevTools or speedscope.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { cpuSecondsOf } from '../lib/cpu.js';
import { warmupS } from '../lib/rounds.js';
import type { RunningServer } from '../lib/servers.js';
import { printTable, rate } from '../lib/table.js';
import { openGatewayFixture } from './fixture.js';
import { path, type ServerKind } from './servers.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
}

const kinds: readonly ServerKind[] = ['proxy', 'gateway-token', 'gateway-session'];
const kind = process.argv[2] as ServerKind;
if (!kinds.includes(kind)) {
  console.error(`usage: profile.ts ${kinds.join('|')} [seconds]`);
  process.exit(2);
}
const seconds = Number(process.argv[3] ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const dir = mkdtempSync(join(tmpdir(), 'tessera-gateway-profile-'));

/** Where a frame's code lives: a package, Node itself, or (program)/(garbage collector). */
function placeOf(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (module?.[1] !== undefined) return module[1];
  const ours = /\/packages\/([^/]+)\//.exec(url);
  if (ours?.[1] !== undefined) return `@tessera/${ours[1]}`;
  if (url.startsWith('node:')) return 'node';
  return url.replace(/^.*\//, '');
}

function top(map: Map<string, number>, total: number, n: number): string[][] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, hits]) => [name, ((100 * hits) / total).toFixed(1)]);
}

const fixture = await openGatewayFixture();
const servers: RunningServer[] = [];
let requests = 0;
try {
  const upstream = await fixture.launch('upstream');
  servers.push(upstream);
  const server = await fixture.launch(kind, `http://127.0.0.1:${upstream.port}`, [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
  ]);
  servers.push(server);
  const base = `http://127.0.0.1:${server.port}`;
  const headers = await fixture.credentials(kind, base);
  const options = { url: `${base}${path}`, connections, headers };
  const warm = await autocannon({ ...options, duration: warmupS });
  const cpuBefore = cpuSecondsOf(server.pid ?? 0);
  const result = await autocannon({ ...options, duration: seconds });
  const cpuUs = ((cpuSecondsOf(server.pid ?? 0) - cpuBefore) / result.requests.total) * 1e6;
  requests = warm.requests.total + result.requests.total;
  console.log(
    `${kind}: ${rate(result.requests.total / result.duration)} req/s under the profiler, ` +
      `${cpuUs.toFixed(0)} us of CPU per request (/proc, the measured ${seconds} s), ${result.non2xx} non-2xx`,
  );
} finally {
  for (const server of servers.reverse()) await server.close();
  await fixture.close();
}

// CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile: thread 0 is the main one (tsx's loader has its own).
const file = readdirSync(dir).find((name) => /\.\d+\.0\.\d+\.cpuprofile$/.test(name));
if (file === undefined) throw new Error(`no .cpuprofile was written to ${dir}`);
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const byPlace = new Map<string, number>();
const byFunction = new Map<string, number>();
for (const id of profile.samples) {
  const frame = byId.get(id)?.callFrame;
  if (frame === undefined) continue;
  const place = placeOf(frame.url, frame.functionName);
  byPlace.set(place, (byPlace.get(place) ?? 0) + 1);
  const name = `${frame.functionName || '(anonymous)'} ${place}:${frame.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + 1);
}
const total = profile.samples.length;
const wallUs = profile.endTime - profile.startTime;
const idle = byPlace.get('(idle)') ?? 0;
console.log(
  `\n${join(dir, file)}: ${total} samples; busy ${(100 - (100 * idle) / total).toFixed(1)}% of the time; ` +
    `${((wallUs * (1 - idle / total)) / Math.max(1, requests)).toFixed(1)} us busy per request over its whole life (start and warm-up included)`,
);
printTable(['self time by place', '%'], top(byPlace, total, 20));
printTable(['self time by function', '%'], top(byFunction, total, 40));
