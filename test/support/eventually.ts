// The one way a test waits for something asynchronous (a delivery, a poll, a reconnection):
// retry until it stops throwing, without a fixed sleep or a timing assertion.

export interface EventuallyOptions {
  /** Give up after this long and throw the last failure. Default 5 000 ms. */
  readonly timeoutMs?: number;
  /** Between attempts. Default 10 ms. */
  readonly intervalMs?: number;
}

/** Calls `attempt` until it returns without throwing (or its promise resolves); returns that. */
export async function eventually<T>(
  attempt: () => T | Promise<T>,
  { timeoutMs = 5_000, intervalMs = 10 }: EventuallyOptions = {},
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
