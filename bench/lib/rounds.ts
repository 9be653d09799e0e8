// Rounds, medians and the load average shared by the HTTP benchmarks. With several rounds
// (BENCH_ROUNDS) the contestants take turns, the order rotating every round, and each figure is
// the median, so a burst of load from elsewhere on the machine does not favour one of them.
import { loadavg } from 'node:os';

export const durationS = Number(process.env.BENCH_DURATION ?? 10);
export const warmupS = Number(process.env.BENCH_WARMUP ?? 2);
export const rounds = Number(process.env.BENCH_ROUNDS ?? 1);

export type Contestant<Kind extends string> = readonly [Kind, string];

/** The 1-minute load average, as the tables print it. */
export function load1(): string {
  return loadavg()[0]?.toFixed(2) ?? '?';
}

/** All three load averages, for a benchmark's opening line. */
export function loadAll(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}

/**
 * Measures every contestant once per round in rotating order; returns each contestant's samples
 * by name, in round order. `report` prints a progress line after each measurement.
 */
export async function runRounds<Kind extends string, Sample>(
  contestants: readonly Contestant<Kind>[],
  measure: (kind: Kind, name: string) => Promise<Sample>,
  report: (round: number, name: string, sample: Sample) => void,
): Promise<Map<string, Sample[]>> {
  const samples = new Map<string, Sample[]>(contestants.map(([, name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < contestants.length; i++) {
      const [kind, name] = contestants[(i + round) % contestants.length] as Contestant<Kind>;
      const sample = await measure(kind, name);
      samples.get(name)?.push(sample);
      report(round + 1, name, sample);
    }
  }
  return samples;
}
