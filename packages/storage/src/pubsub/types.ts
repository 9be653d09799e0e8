/** Receives one message; a throw or a rejection goes to the channel's `onError`, never further. */
export type MessageHandler = (message: string, topic: string) => void | Promise<void>;

/** Ends one subscription. Idempotent; it never rejects. */
export type Unsubscribe = () => Promise<void>;

/**
 * Publish/subscribe of string messages on named topics (callers encode JSON themselves).
 * Each message reaches the handlers subscribed when it is delivered, once each, in the order of
 * its topic; a handler is always called asynchronously, never inside `publish`. `RedisChannel`
 * also delivers what was published while a subscriber was cut off from Redis, as long as the
 * topic's stream still holds it.
 * Operations on an unreachable or closed channel reject with `StorageError`
 * `ERR_STORAGE_UNAVAILABLE`.
 */
export interface Channel {
  publish(topic: string, message: string): Promise<void>;
  /** Resolves once messages published from now on will be delivered to `handler`. */
  subscribe(topic: string, handler: MessageHandler): Promise<Unsubscribe>;
  /** Ends every subscription and releases connections the channel owns. */
  close(): Promise<void>;
  /**
   * Resolves when the channel's server answers, rejects `ERR_STORAGE_UNAVAILABLE` when it does not
   * (readiness; use `probeChannel`). Absent on a channel with no server, which always answers.
   */
  probe?(): Promise<void>;
}

export interface ChannelOptions {
  /** Called with whatever a handler threw or rejected with. Default: a process warning. */
  readonly onError?: (error: unknown, topic: string) => void;
}
