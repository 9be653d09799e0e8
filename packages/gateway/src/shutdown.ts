import type { FastifyInstance } from 'fastify';

/**
 * What the gateway opened (stores, databases, channels), closed when its app closes: the last
 * opened first. Fastify closes its own (the listener) itself; the proxy's upstream pools close in its onClose hook.
 */
export class Shutdown {
  readonly #closers: (() => Promise<void>)[] = [];

  constructor(app: FastifyInstance) {
    app.addHook('onClose', async () => {
      for (const close of this.#closers.splice(0).reverse()) await close();
    });
  }

  /** Closes a part with the app. */
  add(close: () => Promise<void>): void {
    this.#closers.push(close);
  }
}

/** Runs `open`; when it fails, closes the app (and so what was opened so far) and rethrows. */
export async function openOrClose<T>(app: FastifyInstance, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    await app.close();
    throw error;
  }
}
