import type { Kysely } from 'kysely';
import type { IdentitySchema } from './schema.js';

/** One disable or delete, as written by whichever process made it. */
export interface DeactivationRecord {
  readonly id: string;
  readonly userId: string;
  readonly reason: 'disabled' | 'deleted';
}

export interface DeactivationFeedOptions {
  readonly db: Kysely<IdentitySchema>;
  /** Epoch ms, the directory's clock. */
  readonly now: () => number;
  /** Between the end of one poll and the start of the next. */
  readonly intervalMs: number;
  /** How long a record is kept, and so how far back a feed that starts now looks. */
  readonly retentionMs: number;
  /**
   * Called once per record not yet handled here; resolves whether the listeners heard of it (not
   * when the user was enabled again). A rejection leaves it to be tried again.
   */
  readonly handle: (record: DeactivationRecord) => Promise<boolean>;
  readonly onError: (error: unknown) => void;
}

// A record is read again for this long after a poll that saw past it: the writer's clock may lag
// the reader's, and a transaction may commit well after it stamped its row.
export const lateArrivalMs = 5 * 60 * 1000;
// Old records are deleted at most this often per process (deletes go by age alone, so instances
// may run them at the same time).
const purgeEveryMs = 60 * 60 * 1000;
const pageSize = 500;
// Records this process marked while nothing polls, before the older ones are dropped.
const idleHandledLimit = 1000;

/**
 * Reads the `user_deactivations` records other processes write and hands each new one to `handle`,
 * polling on an unref'd timer while started. Records are read by age, not by a sequence number:
 * with concurrent writers a later number can commit first, so a cursor past it would skip the
 * earlier one for good. Instead every poll reads back to `lateArrivalMs` before the previous one
 * and skips the ids it has handled.
 */
export class DeactivationFeed {
  readonly #options: DeactivationFeedOptions;
  // Record id -> its created_at in ms, for every record handled since the window's start.
  readonly #handled = new Map<string, number>();
  #windowStart: number;
  #lastPurge = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  // Bumped by every start and stop, so a poll under way reschedules only the run it belongs to.
  #generation = 0;
  #running = false;
  // Polls run one after another, whether the timer or `poll()` started them.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: DeactivationFeedOptions) {
    this.#options = options;
    this.#windowStart = options.now() - options.retentionMs;
  }

  /** Polls now, then every `intervalMs` until `stop`. Starting a started feed does nothing. */
  start(): void {
    if (this.#running || this.#options.intervalMs === 0) return;
    this.#running = true;
    this.#generation += 1;
    this.#schedule(0, this.#generation);
  }

  /** No poll starts after this; a poll under way hands out nothing more and reports no error. */
  stop(): void {
    this.#running = false;
    this.#generation += 1;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * A record this process handles itself (its listeners run), so no poll hands it out again.
   * While nothing polls, nothing prunes: only the last `lateArrivalMs` are then kept.
   */
  markHandled(id: string, createdAt: number): void {
    this.#handled.set(id, createdAt);
    if (!this.#running && this.#handled.size > idleHandledLimit) {
      const horizon = this.#options.now() - lateArrivalMs;
      for (const [handledId, at] of this.#handled) if (at < horizon) this.#handled.delete(handledId);
    }
  }

  /** Undoes `markHandled`: the next poll hands the record out (if it was written at all). */
  forget(id: string, createdAt: number): void {
    this.#handled.delete(id);
    // Polls meanwhile may have moved the window past it, taking it for handled.
    this.#windowStart = Math.min(this.#windowStart, createdAt);
  }

  /** One poll, after any under way; resolves to how many records were handed out. */
  poll(): Promise<number> {
    const next = this.#queue.then(() => this.#pollOnce(true));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #schedule(delayMs: number, generation: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const current = (): boolean => this.#generation === generation;
      const run = this.#queue.then(() => (current() ? this.#pollOnce(false) : 0));
      this.#queue = run.catch(() => undefined);
      run
        .catch((error: unknown) => {
          if (current()) this.#options.onError(error);
        })
        .finally(() => {
          if (current()) this.#schedule(this.#options.intervalMs, generation);
        });
    }, delayMs);
    this.#timer.unref();
  }

  async #pollOnce(asked: boolean): Promise<number> {
    const live = (): boolean => asked || this.#running;
    const { db, now, handle, onError } = this.#options;
    const startedAt = now();
    let handed = 0;
    // The oldest record whose handling failed: the window goes no further than it.
    let oldestFailure = Number.POSITIVE_INFINITY;
    let after: { createdAt: string; id: string } | undefined;
    for (;;) {
      let query = db
        .selectFrom('user_deactivations')
        .select(['id', 'user_id', 'reason', 'created_at'])
        .where('created_at', '>=', new Date(this.#windowStart).toISOString())
        .orderBy('created_at')
        .orderBy('id')
        .limit(pageSize);
      if (after !== undefined) {
        const { createdAt, id } = after;
        query = query.where((eb) =>
          eb.or([
            eb('created_at', '>', createdAt),
            eb.and([eb('created_at', '=', createdAt), eb('id', '>', id)]),
          ]),
        );
      }
      const rows = await query.execute();
      for (const row of rows) {
        if (!live()) return handed;
        if (this.#handled.has(row.id)) continue;
        // A stamp that is no time, or one in the future, counts as now (the purge deletes it).
        const stamped = Date.parse(row.created_at);
        const at = Number.isNaN(stamped) || stamped > startedAt ? startedAt : stamped;
        try {
          const heard = await handle({
            id: row.id,
            userId: row.user_id,
            reason: row.reason === 'deleted' ? 'deleted' : 'disabled',
          });
          this.#handled.set(row.id, at);
          if (heard) handed += 1;
        } catch (error) {
          // Left unhandled, so the next poll tries it again.
          oldestFailure = Math.min(oldestFailure, at);
          if (live()) onError(error);
        }
      }
      const last = rows.at(-1);
      if (rows.length < pageSize || last === undefined) break;
      after = { createdAt: last.created_at, id: last.id };
    }
    this.#windowStart = Math.max(this.#windowStart, Math.min(startedAt - lateArrivalMs, oldestFailure));
    for (const [id, at] of this.#handled) if (at < this.#windowStart) this.#handled.delete(id);
    if (startedAt - this.#lastPurge >= purgeEveryMs) {
      this.#lastPurge = startedAt;
      const iso = (ms: number): string => new Date(ms).toISOString();
      // Older than the retention, or stamped more than a day ahead (a clock gone wrong, or not a
      // time at all: such text sorts after every ISO date).
      await db
        .deleteFrom('user_deactivations')
        .where((eb) =>
          eb.or([
            eb('created_at', '<', iso(startedAt - this.#options.retentionMs)),
            eb('created_at', '>', iso(startedAt + purgeEveryMs * 24)),
          ]),
        )
        .execute();
    }
    return handed;
  }
}
