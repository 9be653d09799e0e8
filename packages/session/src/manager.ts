import { randomBytes } from 'node:crypto';
import { TesseraTypeError } from '@tessera/core';
import { probeStore } from '@tessera/storage';
import { SessionError } from './errors.js';
import { withinDeadline } from './lib/deadline.js';
import { hashSessionId, isWellFormedSessionId, newSessionId } from './lib/ids.js';
import { type ResolvedOptions, resolveOptions, type SessionManagerOptions } from './options.js';
import { decodeRecord, encodeRecord, isExpired, type SessionRecord, storeTtl } from './record.js';
import { internalsOf, Session } from './session.js';

/**
 * Session data is an object of JSON values. Declare its fields by augmenting this interface
 * (`declare module '@tessera/session' { interface SessionData { cart: string[] } }`) so the
 * adapters' `request.session` is typed; or give a type to `createSessionManager<Data>()`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: an augmentation point, empty by design
export interface SessionData {}

/** What identifies the client that logged in, for `listForUser`. */
export interface ClientInfo {
  readonly userAgent?: string | undefined;
  readonly address?: string | undefined;
}

/** A new session and the id to send in the cookie (the only time the id is known). */
export interface CreatedSession<Data extends object> {
  readonly id: string;
  readonly session: Session<Data>;
}

/** One entry of `listForUser`: enough to show "your devices" and end one of them. */
export interface SessionInfo {
  /** The hashed id: names the session without being usable as a cookie. */
  readonly handle: string;
  readonly userAgent: string | undefined;
  readonly address: string | undefined;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly absoluteExpiresAt: number;
}

export interface SessionManager<Data extends object = SessionData> {
  /** The validated, frozen options (cookie naming, timeouts) the adapters read. */
  readonly options: ResolvedOptions;
  /** Warnings about insecure settings, also given to `onWarning` at construction. */
  readonly warnings: readonly string[];
  /** Always a new id: an id sent by the client is never adopted. */
  create(userId: string, data: Data, client?: ClientInfo): Promise<CreatedSession<Data>>;
  /** Login: ends `previous` (if any) and creates a new session, so a fixated id is worthless. */
  regenerate(
    previous: Session<Data> | null,
    userId: string,
    data: Data,
    client?: ClientInfo,
  ): Promise<CreatedSession<Data>>;
  /** Privilege change: same user, data and absolute expiry, a new id; the old id stops working. */
  rotate(session: Session<Data>): Promise<CreatedSession<Data>>;
  /** The live session for a cookie's id, or null (malformed, unknown, expired): never writes. */
  get(id: string): Promise<Session<Data> | null>;
  /**
   * The live session stored under `idHash` (its `idHash`, the store key; never a cookie value), or
   * null, with the same checks as `get`: read only, for a backend that was given the session by a
   * session reference and must not hold anything the browser could present.
   */
  getByHash(idHash: string): Promise<Session<Data> | null>;
  /** `get` then `touch`, bounded together by one `storeTimeoutMs`: what the adapters run per request. */
  resolve(id: string): Promise<Session<Data> | null>;
  /** Records activity: writes only when the last write is older than `touchIntervalMs`. */
  touch(session: Session<Data>): Promise<Session<Data>>;
  /** Merges `patch` into the stored data, top-level key by key, under compare-and-set. */
  update(session: Session<Data>, patch: Partial<Data>): Promise<Session<Data>>;
  /** Ends one session; true when it was live. */
  destroy(session: Session<Data>): Promise<boolean>;
  /** Ends the session named by `handle` if it belongs to `userId` ("log out that device"). */
  destroyHandle(userId: string, handle: string): Promise<boolean>;
  /** Ends every session of the user ("log out everywhere", disabled account); returns how many. */
  destroyAllForUser(userId: string): Promise<number>;
  listForUser(userId: string): Promise<SessionInfo[]>;
  /**
   * Resolves when the store answers one read within `storeTimeoutMs`, else rejects with
   * `ERR_SESSION_STORE_UNAVAILABLE`: a service's readiness probe of its session store.
   */
  checkStore(): Promise<void>;
}

const handleShape = /^[A-Za-z0-9_-]{43}$/;

function checkUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 512) {
    throw new TesseraTypeError(
      'ERR_INVALID_USER_ID',
      'userId must be a non-empty string of at most 512 characters',
    );
  }
}

function checkData(data: unknown): void {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new TesseraTypeError('ERR_INVALID_SESSION_DATA', 'session data must be a plain object');
  }
}

export function createSessionManager<Data extends object = SessionData>(
  input: SessionManagerOptions,
): SessionManager<Data> {
  const options = resolveOptions(input);
  const { store, now, idleTimeoutMs, keyPrefix } = options;
  const sessionKey = (idHash: string): string => `${keyPrefix}s:${idHash}`;
  const userKey = (userId: string): string => `${keyPrefix}u:${userId}`;
  // Every public operation takes one deadline for all of its store calls, so an operation (a
  // login is four calls) never waits longer than storeTimeoutMs in total.
  const startDeadline = (): number => performance.now() + options.storeTimeoutMs;
  const call = <T>(operation: string, run: () => Promise<T>, deadline: number): Promise<T> =>
    withinDeadline(operation, Math.ceil(deadline - performance.now()), run, store.settlesWithinMs);

  async function read(idHash: string, deadline: number): Promise<Session<Data> | null> {
    const raw = await call('get', () => store.get(sessionKey(idHash)), deadline);
    if (raw === null) return null;
    const record = decodeRecord<Data>(raw, idHash);
    if (record === null || isExpired(record, now(), idleTimeoutMs)) return null;
    return new Session(record, raw);
  }

  /** The compare-and-set loop every write goes through: re-read and re-apply on conflict. */
  async function write(
    session: Session<Data>,
    change: (record: SessionRecord<Data>, at: number) => SessionRecord<Data> | null,
    deadline: number,
  ): Promise<Session<Data>> {
    let { record, raw } = internalsOf(session);
    for (let attempt = 0; attempt < options.maxUpdateAttempts; attempt++) {
      const at = now();
      if (isExpired(record, at, idleTimeoutMs)) throw new SessionError('ERR_SESSION_NOT_FOUND');
      const next = change(record, at);
      if (next === null) return attempt === 0 ? session : new Session(record, raw);
      const encoded = encodeRecord(next);
      const ttlMs = storeTtl(next, at, idleTimeoutMs);
      const key = sessionKey(record.idHash);
      if (await call('compareAndSet', () => store.compareAndSet(key, raw, encoded, { ttlMs }), deadline)) {
        return new Session(next, encoded);
      }
      const fresh = await call('get', () => store.get(key), deadline);
      const decoded = fresh === null ? null : decodeRecord<Data>(fresh, record.idHash);
      if (fresh === null || decoded === null) throw new SessionError('ERR_SESSION_NOT_FOUND');
      record = decoded;
      raw = fresh;
    }
    throw new SessionError('ERR_SESSION_UPDATE_CONFLICT');
  }

  async function create(userId: string, data: Data, client: ClientInfo = {}): Promise<CreatedSession<Data>> {
    checkUserId(userId);
    checkData(data);
    const at = now();
    return insert(userId, data, client, at, at + options.absoluteTimeoutMs, startDeadline());
  }

  async function insert(
    userId: string,
    data: Data,
    client: ClientInfo,
    createdAt: number,
    absoluteExpiresAt: number,
    deadline: number,
  ): Promise<CreatedSession<Data>> {
    const at = now();
    const id = newSessionId();
    const idHash = hashSessionId(id);
    const record: SessionRecord<Data> = {
      idHash,
      userId,
      data,
      createdAt,
      lastSeenAt: at,
      absoluteExpiresAt,
      csrfSecret: randomBytes(32).toString('base64url'),
      version: 1,
      ...(client.userAgent === undefined ? {} : { userAgent: client.userAgent.slice(0, 512) }),
      ...(client.address === undefined ? {} : { address: client.address.slice(0, 64) }),
    };
    const raw = encodeRecord(record);
    const ttlMs = storeTtl(record, at, idleTimeoutMs);
    // "Only if absent": a 256-bit collision will not happen, but an overwrite must not either.
    const written = await call(
      'create',
      () => store.compareAndSet(sessionKey(idHash), null, raw, { ttlMs }),
      deadline,
    );
    if (!written) throw new SessionError('ERR_SESSION_UPDATE_CONFLICT');
    // The index lives as long as the newest session can; stale members are pruned on listing.
    await call(
      'index',
      () => store.setAdd(userKey(userId), [idHash], { ttlMs: options.absoluteTimeoutMs }),
      deadline,
    );
    return { id, session: new Session(record, raw) };
  }

  async function removeMany(userId: string, idHashes: readonly string[], deadline: number): Promise<number> {
    if (idHashes.length === 0) return 0;
    const removed = await Promise.all(
      idHashes.map((idHash) => call('delete', () => store.delete(sessionKey(idHash)), deadline)),
    );
    await call('unindex', () => store.setRemove(userKey(userId), idHashes), deadline);
    return removed.filter(Boolean).length;
  }

  const manager: SessionManager<Data> = {
    options,
    warnings: options.warnings,
    create,
    async regenerate(previous, userId, data, client) {
      checkUserId(userId);
      checkData(data);
      const deadline = startDeadline();
      if (previous !== null) await removeMany(previous.userId, [previous.idHash], deadline);
      const at = now();
      return insert(userId, data, client ?? {}, at, at + options.absoluteTimeoutMs, deadline);
    },
    async rotate(session) {
      const { record } = internalsOf(session);
      const deadline = startDeadline();
      const created = await insert(
        record.userId,
        record.data,
        { userAgent: record.userAgent, address: record.address },
        record.createdAt,
        record.absoluteExpiresAt,
        deadline,
      );
      await removeMany(session.userId, [session.idHash], deadline);
      return created;
    },
    async checkStore() {
      await call('probe', () => probeStore(store), startDeadline());
    },
    async get(id) {
      if (typeof id !== 'string' || !isWellFormedSessionId(id)) return null;
      return read(hashSessionId(id), startDeadline());
    },
    async getByHash(idHash) {
      if (typeof idHash !== 'string' || !handleShape.test(idHash)) return null;
      return read(idHash, startDeadline());
    },
    async resolve(id) {
      if (typeof id !== 'string' || !isWellFormedSessionId(id)) return null;
      const deadline = startDeadline();
      const session = await read(hashSessionId(id), deadline);
      if (session === null || now() - session.lastSeenAt < options.touchIntervalMs) return session;
      try {
        return await touchOnce(session, deadline);
      } catch (error) {
        // Ended between the read and the touch (logout on another instance): anonymous.
        if (error instanceof SessionError && error.code === 'ERR_SESSION_NOT_FOUND') return null;
        throw error;
      }
    },
    touch(session) {
      return touchOnce(session, startDeadline());
    },
    update(session, patch) {
      checkData(patch);
      return write(
        session,
        (record, at) => ({
          ...record,
          data: { ...record.data, ...patch },
          lastSeenAt: at,
          version: record.version + 1,
        }),
        startDeadline(),
      );
    },
    async destroy(session) {
      return (await removeMany(session.userId, [session.idHash], startDeadline())) > 0;
    },
    async destroyHandle(userId, handle) {
      checkUserId(userId);
      if (typeof handle !== 'string' || !handleShape.test(handle)) return false;
      const deadline = startDeadline();
      const session = await read(handle, deadline);
      if (session === null || session.userId !== userId) return false;
      return (await removeMany(userId, [handle], deadline)) > 0;
    },
    async destroyAllForUser(userId) {
      checkUserId(userId);
      const deadline = startDeadline();
      const members = await call('members', () => store.setMembers(userKey(userId)), deadline);
      // Only the members read are removed from the index: a login racing with this call keeps
      // its entry (an application disabling an account must also refuse new logins).
      return removeMany(userId, members, deadline);
    },
    async listForUser(userId) {
      checkUserId(userId);
      const deadline = startDeadline();
      const members = await call('members', () => store.setMembers(userKey(userId)), deadline);
      const sessions = await Promise.all(members.map((idHash) => read(idHash, deadline)));
      const stale = members.filter((_, i) => sessions[i] === null);
      if (stale.length > 0) await call('unindex', () => store.setRemove(userKey(userId), stale), deadline);
      return sessions
        .filter((s): s is Session<Data> => s !== null && s.userId === userId)
        .map((s) => ({
          handle: s.idHash,
          userAgent: s.userAgent,
          address: s.address,
          createdAt: s.createdAt,
          lastSeenAt: s.lastSeenAt,
          absoluteExpiresAt: s.absoluteExpiresAt,
        }))
        .sort((a, b) => b.lastSeenAt - a.lastSeenAt);
    },
  };

  function touchOnce(session: Session<Data>, deadline: number): Promise<Session<Data>> {
    return write(
      session,
      (record, at) =>
        at - record.lastSeenAt < options.touchIntervalMs
          ? null
          : { ...record, lastSeenAt: at, version: record.version + 1 },
      deadline,
    );
  }

  return Object.freeze(manager);
}
