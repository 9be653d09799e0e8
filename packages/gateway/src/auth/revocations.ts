import { REVOCATION_TOPIC, type ReadinessCheck } from '@tessera/core';
import { type RevocationChannel, type Revocations, subscribeRevocations } from '@tessera/resource';
import { probeChannel, RedisChannel } from '@tessera/storage';
import type { GatewayConfig } from '../config.js';

type TokenConfig = NonNullable<GatewayConfig['token']>;

/** The deny-list token mode checks on every request, and how to stop filling it. */
export interface EdgeRevocations {
  readonly revocations: Revocations;
  /** For /readyz: the Redis channel opened here (a channel given by the caller is the caller's to watch). */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  /** Stops listening; closes the channel only when it was opened here. */
  close(): Promise<void>;
}

/**
 * Subscribes token mode to the token service's revocation events, as every resource server does:
 * on `channel` when the caller has one (`tessera dev`'s in-process channel), else on the Redis
 * channel the config names. Undefined when neither is given. Rejects when Redis cannot be reached:
 * a gateway that cannot hear revocations does not start as if it could.
 */
export async function subscribeEdgeRevocations(
  config: TokenConfig,
  channel: RevocationChannel | undefined,
): Promise<EdgeRevocations | undefined> {
  const settings = config.revocations;
  if (channel === undefined && settings === undefined) return undefined;
  let opened: RedisChannel | undefined;
  if (channel === undefined && settings !== undefined) {
    opened = new RedisChannel({
      url: settings.url,
      prefix: settings.prefix,
      ...(settings.password === undefined ? {} : { redis: { password: settings.password } }),
    });
  }
  const source = (channel ?? opened) as RevocationChannel;
  let revocations: Revocations;
  try {
    revocations = await subscribeRevocations(source, REVOCATION_TOPIC, { issuer: config.issuer });
  } catch (error) {
    await opened?.close();
    throw error;
  }
  const channelOpened = opened;
  return {
    revocations,
    readiness: channelOpened === undefined ? {} : { 'revocation channel': () => probeChannel(channelOpened) },
    async close() {
      await revocations.close();
      await opened?.close();
    },
  };
}
