// One measurement: a warm-up load, the 1-minute load average, then the timed load.
import autocannon from 'autocannon';
import { durationS, load1, warmupS } from './rounds.js';

export interface Measured {
  readonly result: autocannon.Result;
  /** The 1-minute load average just before the timed load. */
  readonly load: string;
}

export async function warmAndMeasure(options: Omit<autocannon.Options, 'duration'>): Promise<Measured> {
  await autocannon({ ...options, duration: warmupS });
  const load = load1();
  const result = await autocannon({ ...options, duration: durationS });
  return { result, load };
}
