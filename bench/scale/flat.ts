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
 * The sizes under the same load in alternating slices: req/s and p99 of each, and each later size
 * over the first, pooled and as the median of paired slices. The verdict is the paired median:
 * the two slices of a cycle run one after the other, so they meet the same machine, where the
 * pooled figures of a loaded machine drift with whatever else runs (both are printed).
 */
export async function compareSizes(sizes: readonly SizedTarget[], target = 0.95): Promise<boolean> {
  const totals = await interleavedSlices(sizes, {
    connections,
    sliceS,
    cycles,
    warmupS,
    report: progressEvery(4),
  });
  const rows = sizes.map((contestant) => {
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
  const [first] = rows as [(typeof rows)[number]];
  const firstSize = first.contestant.size;
  printTable(
    [
      'size',
      'req/s',
      'p99 ms',
      `x ${firstSize} (pooled)`,
      `x ${firstSize} (paired slices, median)`,
      'non-2xx',
    ],
    rows.map((row) => [
      row.contestant.size,
      rate(row.rps),
      row.p99.toFixed(1),
      (row.rps / first.rps).toFixed(2),
      pairedRatio(row.rates, first.rates).toFixed(2),
      row.bad,
    ]),
  );
  const bad = rows.reduce((sum, row) => sum + row.bad, 0);
  if (bad > 0) console.log(`\n${bad} answers were not 2xx: the figures are not of the route measured`);
  let met = bad === 0;
  for (const row of rows.slice(1)) {
    const paired = pairedRatio(row.rates, first.rates);
    met = printRatio(`req/s (${row.contestant.size} / ${firstSize}, paired slices)`, paired, target) && met;
  }
  return met;
}

/** Closes servers in reverse order of starting, whatever fails. */
export async function closeAll(servers: readonly RunningServer[]): Promise<void> {
  for (const server of [...servers].reverse()) await server.close().catch(() => {});
}

/** A uniformly random element (the load spreads over every key, not one hot one). */
export function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}
