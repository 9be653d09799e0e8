// Response times to the microsecond. autocannon's own histogram keeps whole milliseconds, so the
// p50 of two contestants a millisecond apart differs by 0 or 1 and "under 1 ms" cannot be read
// from it; every answer's own time (autocannon's `response` event, from hrtime) can.
import autocannon from 'autocannon';

/** A growing pool of response times in milliseconds. */
export class LatencyPool {
  #times = new Float64Array(1 << 16);
  #count = 0;
  #sorted = true;

  get count(): number {
    return this.#count;
  }

  add(ms: number): void {
    if (this.#count === this.#times.length) {
      const grown = new Float64Array(this.#times.length * 2);
      grown.set(this.#times);
      this.#times = grown;
    }
    this.#times[this.#count++] = ms;
    this.#sorted = false;
  }

  /** Runs autocannon and records the time of each 2xx answer (those its histogram counts). */
  run(options: autocannon.Options): Promise<autocannon.Result> {
    return new Promise((resolve, reject) => {
      const instance = autocannon(options, (error: unknown, result) => {
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(result);
      });
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        if (statusCode >= 200 && statusCode <= 299) this.add(responseTime);
      });
    });
  }

  /** The q-quantile (0..1), nearest rank; NaN when empty. */
  quantile(q: number): number {
    if (this.#count === 0) return Number.NaN;
    const times = this.#times.subarray(0, this.#count);
    if (!this.#sorted) {
      times.sort();
      this.#sorted = true;
    }
    const rank = Math.min(this.#count - 1, Math.max(0, Math.ceil(q * this.#count) - 1));
    return times[rank] as number;
  }

  mean(): number {
    if (this.#count === 0) return Number.NaN;
    let sum = 0;
    for (const time of this.#times.subarray(0, this.#count)) sum += time;
    return sum / this.#count;
  }
}
