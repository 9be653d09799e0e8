import type { TokenService } from './app.js';
import { contextOf } from './context.js';
import { type PurgeCounts, purgeRecords } from './lib/purge.js';

/**
 * Purges once what can no longer be presented (see `purgeIntervalMs`), for a service started with
 * the timer off and a job of its own; resolves to the counts deleted by kind.
 */
export function purgeExpiredRecords(service: TokenService): Promise<PurgeCounts> {
  return purgeRecords(contextOf(service));
}
