// What every scale sub-benchmark shares: its servers as child processes, the two sizes taking
// turns under load in slices (bench/lib/slices.ts, so both meet the same machine), and the line
// that prints the largest size's figure over the smallest's against the target.
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { durationS, loadAll, rounds, warmupS } from '../lib/rounds.js';
import { type RunningServer, type SpawnOptions, spawnServer } from '../lib/servers.js';
import { interleavedSlices, pairedRatio, progressEvery, type SliceContestant } from '../lib/slices.js';
import { printTable, rate } from '../lib/table.js';
import type { ServerKind } from './servers.js';

const here = dirname(fileURLToPath(import.meta.url));
export const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const sliceS = Number(process.env.BENCH_SLICE ?? 2);
const cycles = Math.max(1, Math.round((rounds * durationS) / sliceS));

/** Starts one of bench/scale/servers.ts's servers in a child process of its own. */
export function launch(
  kind: ServerKind,
  args: readonly string[],
  options?: SpawnOptions,
): Promise<RunningServer> {
  return spawnServer(join(here, 'servers.ts'), [kind, ...args], options);
}

/** The opening line: what is measured, how long, on what. */
export function describeRun(what: string): void {
  console.log(
    `${what}; ${connections} connections, ${rounds} x ${durationS} s per size in slices of ${sliceS} s ` +
      `(+${warmupS} s warm-up), servers in child processes; ${cpus().length} CPUs, Node ${process.version}, ` +
      `load average ${loadAll()}`,
  );
}

/** Prints `largest / smallest` of a figure and whether it reaches `target` (higher is better). */
export function printRatio(what: string, ratio: number, target?: number): boolean {
  const met = target === undefined || ratio >= target;
  const verdict = target === undefined ? '' : ` (target >= ${target}: ${met ? 'met' : 'NOT met'})`;
  console.log(`\nratio largest / smallest, ${what}: ${ratio.toFixed(2)}${verdict}`);
  return met;
}

export interface SizedTarget extends SliceContestant {
  /** What the size is, for the table (`10 sessions`). */
  readonly size: string;
}

/**
 * The smallest and the largest size under the same load in alternating slices: req/s and p99 of
 * each, and the largest over the smallest, pooled and as the median of paired slices.
 */
export async function compareSizes(small: SizedTarget, large: SizedTarget, target = 0.95): Promise<boolean> {
  const totals = await interleavedSlices([small, large], {
    connections,
    sliceS,
    cycles,
    warmupS,
    report: progressEvery(4),
  });
  const rows = [small, large].map((contestant) => {
    const t = totals.get(contestant.name);
    if (t === undefined) throw new Error(`no figures for ${contestant.name}`);
    return {
      contestant,
      rps: t.requests / t.seconds,
      p99: t.latency.quantile(0.99),
      bad: t.bad,
      rates: t.rates,
    };
  });
  const [first, last] = rows as [(typeof rows)[number], (typeof rows)[number]];
  printTable(
    ['size', 'req/s', 'p99 ms', 'non-2xx'],
    rows.map((row) => [row.contestant.size, rate(row.rps), row.p99.toFixed(1), row.bad]),
  );
  const paired = pairedRatio(last.rates, first.rates);
  console.log(`\npaired slices (median of largest / smallest per cycle): ${paired.toFixed(2)}`);
  const bad = first.bad + last.bad;
  if (bad > 0) console.log(`${bad} answers were not 2xx: the figures are not of the route measured`);
  return (
    printRatio(`req/s (${last.contestant.size} / ${first.contestant.size})`, last.rps / first.rps, target) &&
    bad === 0
  );
}

/** Closes servers in reverse order of starting, whatever fails. */
export async function closeAll(servers: readonly RunningServer[]): Promise<void> {
  for (const server of [...servers].reverse()) await server.close().catch(() => {});
}

/** A uniformly random element (the load spreads over every key, not one hot one). */
export function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}
