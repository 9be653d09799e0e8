// One contestant's figures at one concurrency, as the single-table HTTP benchmarks report them.
import type { Measured } from './autocannon.js';
import { median } from './stats.js';

export interface Sample {
  readonly rps: number;
  readonly p99: number;
  /** Non-2xx answers plus connection errors. */
  readonly bad: number;
  /** The 1-minute load average before the run (joined with '/' over rounds). */
  readonly load: string;
}

export function sampleOf({ result, load }: Measured): Sample {
  return { rps: result.requests.average, p99: result.latency.p99, bad: result.non2xx + result.errors, load };
}

/** The progress line printed after each measurement. */
export function reportSample(round: number, name: string, sample: Sample): void {
  console.log(
    `  round ${round}: ${name}: ${Math.round(sample.rps)} req/s, p99 ${sample.p99} ms, load ${sample.load}`,
  );
}

/** Medians of the rounds' figures, the bad answers summed, the load averages listed. */
export function summarize(runs: readonly Sample[]): Sample {
  return {
    rps: median(runs.map((r) => r.rps)),
    p99: median(runs.map((r) => r.p99)),
    bad: runs.reduce((sum, r) => sum + r.bad, 0),
    load: runs.map((r) => r.load).join('/'),
  };
}
