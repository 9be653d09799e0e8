import type { FastifyBaseLogger } from 'fastify';
import type { ServiceContext } from '../context.js';

/**
 * How long an expired authorization code is kept. A code presented twice revokes its grant (RFC
 * 6749 4.1.2); kept for an hour after it expired, a replay that late still does.
 */
export const CODE_REPLAY_WINDOW_MS = 60 * 60 * 1000;

export interface PurgeCounts {
  readonly codes: number;
  readonly deviceCodes: number;
  readonly accessTokens: number;
  readonly refreshTokens: number;
  readonly grants: number;
  readonly revocations: number;
}

type PurgeContext = Pick<ServiceContext, 'now' | 'codes' | 'grants' | 'devices' | 'revocations'>;

/**
 * Deletes what can no longer be presented: authorization and device codes an hour after they expired, grant
 * access-token records past `exp`, refresh tokens past their idle end, grants past their end and
 * revocation-list entries whose token has expired. Every delete is by expiry alone, so instances
 * sharing a database may run it at the same time.
 */
export async function purgeRecords(ctx: PurgeContext): Promise<PurgeCounts> {
  const codes = await ctx.codes.purgeExpired(ctx.now() - CODE_REPLAY_WINDOW_MS);
  // Device codes likewise: a redeemed one presented again within the hour still revokes its grant.
  const deviceCodes = await ctx.devices.purgeExpired(ctx.now() - CODE_REPLAY_WINDOW_MS);
  const grants = await ctx.grants.purgeExpired();
  const revocations = await ctx.revocations.purgeExpired();
  return { codes, deviceCodes, ...grants, revocations };
}

/**
 * Runs the purge every `intervalMs` (0: never) on an unref'd timer, one run at a time; a failed run
 * is logged and the next one tries again. Returns the function that stops it.
 */
export function schedulePurge(ctx: PurgeContext, intervalMs: number, log: FastifyBaseLogger): () => void {
  if (intervalMs === 0) return () => {};
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    purgeRecords(ctx)
      .then(
        (counts) => log.debug({ purged: counts }, 'expired grants, codes and revocations purged'),
        (error: unknown) => log.error({ err: error }, 'purging expired records failed'),
      )
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
