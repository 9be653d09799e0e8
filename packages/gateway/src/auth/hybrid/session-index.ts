import type { KeyValueStore } from '@tessera/storage';

/** One of this gateway's sessions, as the index names it. */
export interface IndexedSession {
  readonly userId: string;
  /** The session's id hash (`Session.idHash`). */
  readonly idHash: string;
}

/** The store key of a token service session's index. */
const keyOf = (sid: string) => `oidc:sid:${sid}`;

// A member is `<user id> <id hash>`: the hash (base64url) has no space, a user id might, so the
// member is split at its last space.
const memberOf = (session: IndexedSession) => `${session.userId} ${session.idHash}`;

function parseMember(member: string): IndexedSession | undefined {
  const space = member.lastIndexOf(' ');
  if (space <= 0 || space === member.length - 1) return undefined;
  return { userId: member.slice(0, space), idHash: member.slice(space + 1) };
}

/**
 * Which of this gateway's sessions were made from one session at the token service (its `sid`),
 * so that a back-channel logout naming the `sid` ends exactly those, on every instance sharing
 * the store. The only place the index's keys and members are written and read.
 */
export class SessionIndex {
  readonly #store: KeyValueStore;
  readonly #ttlMs: number;

  /** `ttlMs`: how long an entry is kept (the sessions' absolute lifetime). */
  constructor(store: KeyValueStore, ttlMs: number) {
    this.#store = store;
    this.#ttlMs = ttlMs;
  }

  async add(sid: string, session: IndexedSession): Promise<void> {
    await this.#store.setAdd(keyOf(sid), [memberOf(session)], { ttlMs: this.#ttlMs });
  }

  /** The sessions indexed under `sid`; a member that does not parse is left out. */
  async sessionsOf(sid: string): Promise<IndexedSession[]> {
    const members = await this.#store.setMembers(keyOf(sid));
    return members.map(parseMember).filter((session) => session !== undefined);
  }

  async forget(sid: string): Promise<void> {
    await this.#store.delete(keyOf(sid));
  }
}
