import { parseRevocationEvent, REVOCATION_TOPIC, TesseraTypeError } from '@tessera/core';
import { DenyList, type DenyListOptions } from './deny-list.js';

/** The part of @tessera/storage's Channel this package uses (InProcessChannel, RedisChannel). */
export interface RevocationChannel {
  subscribe(
    topic: string,
    handler: (message: string) => void | Promise<void>,
  ): Promise<() => Promise<void> | void>;
}

export interface RevocationsOptions extends DenyListOptions {
  /** Expired entries are dropped this often, in ms. Default 60000. */
  readonly pruneInterval?: number;
}

/** A deny-list kept up to date from the channel; give it to createVerifier as `revocations`. */
export interface Revocations {
  readonly list: DenyList;
  /** Stops listening and pruning. */
  close(): Promise<void>;
}

/**
 * Subscribes to revocation events; resolves once every event published from now on will be seen.
 * Messages that are not well-formed events are ignored.
 */
export async function subscribeRevocations(
  channel: RevocationChannel,
  topic: string = REVOCATION_TOPIC,
  options: RevocationsOptions = {},
): Promise<Revocations> {
  if (typeof channel !== 'object' || channel === null || typeof channel.subscribe !== 'function') {
    throw new TesseraTypeError('ERR_INVALID_OPTION', 'channel must have subscribe(topic, handler)');
  }
  const pruneInterval = options.pruneInterval ?? 60_000;
  if (!Number.isFinite(pruneInterval) || pruneInterval <= 0) {
    throw new TesseraTypeError('ERR_INVALID_OPTION', 'pruneInterval must be a positive number of ms');
  }
  const list = new DenyList(options);
  const unsubscribe = await channel.subscribe(topic, (message) => {
    const event = parseRevocationEvent(message);
    if (event !== undefined) list.add(event);
  });
  const timer = setInterval(() => list.prune(), pruneInterval);
  timer.unref();
  return {
    list,
    async close() {
      clearInterval(timer);
      await unsubscribe();
    },
  };
}
