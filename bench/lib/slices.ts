// Contestants that are all running at once take turns under load in short slices, the order
// rotating every cycle, and each one's figures are pooled over all its slices. On a machine whose
// speed drifts over tens of seconds (a shared VM), a contestant measured for 10 s in one go and the
// next one for the 10 s after meet different machines; slices of 2 s spread that drift over all of
// them alike. Each contestant still gets the same total time under the same load.
import autocannon from 'autocannon';
import { LatencyPool } from './latency.js';

export interface SliceContestant {
  readonly name: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface SliceTotals {
  requests: number;
  seconds: number;
  /** Non-2xx answers plus connection errors. */
  bad: number;
  readonly latency: LatencyPool;
  /** Requests per second of each slice, in cycle order. */
  readonly rates: number[];
}

export interface SliceOptions {
  readonly connections: number;
  readonly sliceS: number;
  readonly cycles: number;
  readonly warmupS: number;
  /** Called after each cycle with the cycle number (1-based). */
  readonly report?: (cycle: number, totals: ReadonlyMap<string, SliceTotals>) => void;
}

async function load(
  contestant: SliceContestant,
  connections: number,
  seconds: number,
  latency?: LatencyPool,
): Promise<autocannon.Result> {
  const options = { url: contestant.url, connections, headers: { ...contestant.headers }, duration: seconds };
  return latency === undefined ? autocannon(options) : latency.run(options);
}

export async function interleavedSlices(
  contestants: readonly SliceContestant[],
  options: SliceOptions,
): Promise<Map<string, SliceTotals>> {
  const totals = new Map<string, SliceTotals>(
    contestants.map((c) => [
      c.name,
      { requests: 0, seconds: 0, bad: 0, latency: new LatencyPool(), rates: [] },
    ]),
  );
  // Warm-up: JIT, connection pools, caches.
  for (const contestant of contestants) await load(contestant, options.connections, options.warmupS);
  for (let cycle = 0; cycle < options.cycles; cycle++) {
    for (let i = 0; i < contestants.length; i++) {
      const contestant = contestants[(i + cycle) % contestants.length] as SliceContestant;
      const total = totals.get(contestant.name) as SliceTotals;
      const result = await load(contestant, options.connections, options.sliceS, total.latency);
      total.requests += result.requests.total;
      total.seconds += result.duration;
      total.bad += result.non2xx + result.errors;
      total.rates.push(result.requests.total / result.duration);
    }
    options.report?.(cycle + 1, totals);
  }
  return totals;
}
