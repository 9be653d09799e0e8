/**
 * How many proxied requests each client address has in flight, bounded: one address (one client,
 * or every client behind one NAT) cannot hold more than `max` of the gateway's sockets and upstream
 * connections at once, however slowly it sends or reads.
 */
export class InFlightBound {
  readonly #counts = new Map<string, number>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Counts one more request of `address`; false (and nothing counted) when it already has `max`. */
  tryAcquire(address: string): boolean {
    const count = this.#counts.get(address) ?? 0;
    if (count >= this.#max) return false;
    this.#counts.set(address, count + 1);
    return true;
  }

  release(address: string): void {
    const count = this.#counts.get(address) ?? 0;
    if (count <= 1) this.#counts.delete(address);
    else this.#counts.set(address, count - 1);
  }

  /** Requests in flight for `address` (tests, metrics). */
  count(address: string): number {
    return this.#counts.get(address) ?? 0;
  }
}
