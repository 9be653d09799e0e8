// The settings and the load average the HTTP benchmarks share: each contestant gets BENCH_ROUNDS x
// BENCH_DURATION seconds under load (in slices, bench/lib/slices.ts) after BENCH_WARMUP seconds.
import { loadavg } from 'node:os';

export const durationS = Number(process.env.BENCH_DURATION ?? 10);
export const warmupS = Number(process.env.BENCH_WARMUP ?? 2);
export const rounds = Number(process.env.BENCH_ROUNDS ?? 1);

export type Contestant<Kind extends string> = readonly [Kind, string];

/** All three load averages, for a benchmark's opening line. */
export function loadAll(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}
