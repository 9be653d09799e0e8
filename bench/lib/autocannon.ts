// One measurement: a warm-up load, the 1-minute load average, then the timed load.
import autocannon from 'autocannon';
import { LatencyPool } from './latency.js';
import { durationS, load1, warmupS } from './rounds.js';

export interface Measured {
  readonly result: autocannon.Result;
  /** Every 2xx answer's time, to the microsecond (autocannon's histogram keeps whole ms). */
  readonly latency: LatencyPool;
  /** The 1-minute load average just before the timed load. */
  readonly load: string;
}

export async function warmAndMeasure(options: Omit<autocannon.Options, 'duration'>): Promise<Measured> {
  await autocannon({ ...options, duration: warmupS });
  const load = load1();
  const latency = new LatencyPool();
  const result = await latency.run({ ...options, duration: durationS });
  return { result, latency, load };
}
