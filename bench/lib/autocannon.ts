// One measurement: a warm-up load, the 1-minute load average, then the timed load.
import autocannon from 'autocannon';
import { durationS, load1, warmupS } from './rounds.js';

/** Latency of the 2xx answers in milliseconds, to the microsecond. */
export interface ExactLatency {
  readonly p50: number;
  readonly mean: number;
}

export interface Measured {
  readonly result: autocannon.Result;
  /**
   * autocannon's own histogram records whole milliseconds, so its p50 of two contestants differs
   * by 0 or 1 ms; these figures come from every answer's own timing instead.
   */
  readonly exact: ExactLatency;
  /** The 1-minute load average just before the timed load. */
  readonly load: string;
}

function exactLatency(times: Float64Array, count: number): ExactLatency {
  if (count === 0) return { p50: Number.NaN, mean: Number.NaN };
  const sorted = times.subarray(0, count).sort();
  let sum = 0;
  for (const time of sorted) sum += time;
  const middle = count >> 1;
  const p50 =
    count % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { p50, mean: sum / count };
}

export async function warmAndMeasure(options: Omit<autocannon.Options, 'duration'>): Promise<Measured> {
  await autocannon({ ...options, duration: warmupS });
  const load = load1();
  let times = new Float64Array(1 << 16);
  let count = 0;
  const run = autocannon({ ...options, duration: durationS });
  // Each answer's time as autocannon measured it (hrtime, fractional ms); 2xx only, as its histogram.
  run.on('response', (_client, statusCode: number, _bytes, responseTime: number) => {
    if (statusCode < 200 || statusCode > 299) return;
    if (count === times.length) {
      const grown = new Float64Array(times.length * 2);
      grown.set(times);
      times = grown;
    }
    times[count++] = responseTime;
  });
  const result = await run;
  return { result, exact: exactLatency(times, count), load };
}
