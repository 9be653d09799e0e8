// Contestants that are all running at once take turns under load in short slices, in an order that
// changes every cycle, and each one's figures are pooled over all its slices. On a machine whose
// speed drifts over tens of seconds (a shared VM), a contestant measured for 10 s in one go and the
// next one for the 10 s after meet different machines; slices of 2 s spread that drift over all of
// them alike. Each contestant still gets the same total time under the same load.
//
// The order is a row of a Williams design, not a rotation: a rotation keeps every contestant
// behind the same neighbour, and what ran just before matters here. Measured on this machine, the
// verified-token cache server of bench/resource made 0.73x bare Fastify while it always followed
// three CPU-bound verifiers, and 0.86x when it followed bare Fastify (same code, same run length).
// Over a Williams design's rows every contestant follows every other one equally often.
import autocannon from 'autocannon';
import { LatencyPool } from './latency.js';
import { durationS, rounds, warmupS } from './rounds.js';
import { median } from './stats.js';
import { rate } from './table.js';

export interface SliceContestant {
  readonly name: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Default GET with no body. */
  readonly method?: 'GET' | 'POST';
  readonly body?: string;
  /** CPU seconds the contestant's server has used so far (bench/lib/cpu.ts), read around each slice. */
  readonly cpuSeconds?: () => number;
  /**
   * autocannon's request sequence, for a contestant whose every request must differ (a fresh DPoP
   * proof each, another cookie or credential so a large store is read across its keys): its
   * `setupRequest` runs in this process, so what it does is client work.
   */
  readonly requests?: autocannon.Request[];
}

export interface SliceTotals {
  requests: number;
  seconds: number;
  /** Non-2xx answers plus connection errors. */
  bad: number;
  readonly latency: LatencyPool;
  /** Requests per second of each slice, in cycle order. */
  readonly rates: number[];
  /** CPU seconds its server used during its slices (NaN without `cpuSeconds`). */
  cpuSeconds: number;
}

export interface SliceOptions {
  readonly connections: number;
  readonly sliceS: number;
  /** At least this many cycles: rounded up to whole Williams designs. */
  readonly cycles: number;
  readonly warmupS: number;
  /** Called after each cycle with the cycle number (1-based) and how many cycles there are. */
  readonly report?: (cycle: number, totals: ReadonlyMap<string, SliceTotals>, cycles: number) => void;
}

async function load(
  contestant: SliceContestant,
  connections: number,
  seconds: number,
  latency?: LatencyPool,
): Promise<autocannon.Result> {
  const options: autocannon.Options = {
    url: contestant.url,
    connections,
    headers: { ...contestant.headers },
    duration: seconds,
    ...(contestant.method === undefined ? {} : { method: contestant.method }),
    ...(contestant.body === undefined ? {} : { body: contestant.body }),
    ...(contestant.requests === undefined ? {} : { requests: contestant.requests }),
  };
  return latency === undefined ? autocannon(options) : latency.run(options);
}

/**
 * The rows of a Williams design for `n` treatments: in each row every index once, and over all
 * rows (n of them for even n; n and their reverses for odd n) every ordered pair of different
 * indices adjacent equally often.
 */
export function williamsOrders(n: number): number[][] {
  const first: number[] = [];
  for (let k = 0, low = 0, high = n - 1; k < n; k++) first.push(k % 2 === 0 ? low++ : high--);
  const rows = Array.from({ length: n }, (_, r) => first.map((v) => (v + r) % n));
  return n % 2 === 0 ? rows : [...rows, ...rows.map((row) => [...row].reverse())];
}

export async function interleavedSlices(
  contestants: readonly SliceContestant[],
  options: SliceOptions,
): Promise<Map<string, SliceTotals>> {
  const totals = new Map<string, SliceTotals>(
    contestants.map((c) => [
      c.name,
      { requests: 0, seconds: 0, bad: 0, latency: new LatencyPool(), rates: [], cpuSeconds: 0 },
    ]),
  );
  const orders = williamsOrders(contestants.length);
  // Warm-up: JIT, connection pools, caches.
  for (const contestant of contestants) await load(contestant, options.connections, options.warmupS);
  const cycles = Math.ceil(options.cycles / orders.length) * orders.length;
  for (let cycle = 0; cycle < cycles; cycle++) {
    for (let i = 0; i < contestants.length; i++) {
      const contestant = contestants[orders[cycle % orders.length]?.[i] ?? i] as SliceContestant;
      const total = totals.get(contestant.name) as SliceTotals;
      const cpuBefore = contestant.cpuSeconds?.() ?? Number.NaN;
      const result = await load(contestant, options.connections, options.sliceS, total.latency);
      total.cpuSeconds += (contestant.cpuSeconds?.() ?? Number.NaN) - cpuBefore;
      total.requests += result.requests.total;
      total.seconds += result.duration;
      total.bad += result.non2xx + result.errors;
      total.rates.push(result.requests.total / result.duration);
    }
    options.report?.(cycle + 1, totals, cycles);
  }
  return totals;
}

/** A `report` that prints every contestant's rate so far after every `every` cycles and the last. */
export function progressEvery(
  every: number,
  label = '',
): (cycle: number, totals: ReadonlyMap<string, SliceTotals>, cycles: number) => void {
  return (cycle, totals, cycles) => {
    if (cycle % every !== 0 && cycle !== cycles) return;
    const line = [...totals].map(
      ([name, t]) => `${name.replace(/ \(.*/, '')} ${rate(t.requests / t.seconds)}`,
    );
    console.log(`  ${label}cycle ${cycle}/${cycles}: ${line.join(', ')} req/s so far`);
  };
}

/** The median over cycles of one contestant's slice rate over another's slice of the same cycle. */
export function pairedRatio(rates: readonly number[], baseRates: readonly number[]): number {
  return median(rates.map((r, i) => r / (baseRates[i] ?? Number.NaN)));
}

/**
 * The settings the HTTP benchmarks take from the environment: BENCH_CONNECTIONS (default 50)
 * connections, slices of BENCH_SLICE (2) seconds, and as many cycles as give each contestant
 * BENCH_ROUNDS x BENCH_DURATION seconds under load.
 */
export function sliceSettingsFromEnv(): { connections: number; sliceS: number; cycles: number } {
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
  const sliceS = Number(process.env.BENCH_SLICE ?? 2);
  return { connections, sliceS, cycles: Math.max(1, Math.round((rounds * durationS) / sliceS)) };
}

/** `interleavedSlices` with those settings, the BENCH_WARMUP warm-up and progress every 5 cycles. */
export function slicesFromEnv(contestants: readonly SliceContestant[]): Promise<Map<string, SliceTotals>> {
  return interleavedSlices(contestants, { ...sliceSettingsFromEnv(), warmupS, report: progressEvery(5) });
}
