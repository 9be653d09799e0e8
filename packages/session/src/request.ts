import { findCookie, type HttpRequestInfo, relaxedCookies, serializeCookie } from '@tessera/core';
import { SessionError } from './errors.js';
import type { SessionData, SessionManager } from './manager.js';
import type { Session } from './session.js';

/** Sets (replaces) one response header. */
export type HeaderSink = (name: string, value: string) => void;

/**
 * `anonymous`: no usable cookie (none, malformed, tossed, unknown or expired session);
 * `active`: a live session; `unavailable`: a cookie was sent but the store could not be asked.
 */
export type SessionState = 'anonymous' | 'active' | 'unavailable';

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * One request's view of its session, shared by the Fastify and Express adapters: it reads the
 * cookie, loads the session, checks CSRF and writes the Set-Cookie headers.
 */
export class RequestSession<Data extends object = SessionData> {
  readonly #manager: SessionManager<Data>;
  readonly #request: HttpRequestInfo;
  readonly #setHeader: HeaderSink;
  readonly #cookieName: string;
  readonly #secure: boolean;
  #state: SessionState = 'anonymous';
  #session: Session<Data> | null = null;
  #error: SessionError | undefined;

  constructor(manager: SessionManager<Data>, request: HttpRequestInfo, setHeader: HeaderSink) {
    this.#manager = manager;
    this.#request = request;
    this.#setHeader = setHeader;
    const { options } = manager;
    const relaxed = relaxedCookies(options, request);
    this.#cookieName = relaxed ? options.devCookieName : options.cookieName;
    this.#secure = !relaxed;
  }

  /**
   * Reads the cookie and loads the session. Cookie tossing (two cookies of our name) makes the
   * request anonymous: we cannot tell which one the browser got from us, and taking either could
   * let a sibling origin plant its own session (login CSRF). A malformed id never reaches the store.
   */
  async load(): Promise<void> {
    const { count, value } = findCookie(this.#request.cookie, this.#cookieName);
    if (count !== 1 || value === undefined) return;
    try {
      this.#session = await this.#manager.resolve(value);
      this.#state = this.#session === null ? 'anonymous' : 'active';
    } catch (error) {
      if (!(error instanceof SessionError)) throw error;
      this.#state = 'unavailable';
      this.#error = error;
    }
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The live session, or null. */
  get current(): Session<Data> | null {
    return this.#session;
  }

  /** The CSRF token for forms and `x-csrf-token`, when there is a session. */
  get csrfToken(): string | undefined {
    return this.#session?.csrfToken;
  }

  /** The session, or `session_required` (401) / `session_store_unavailable` (503). */
  require(): Session<Data> {
    if (this.#session !== null) return this.#session;
    throw this.#error ?? new SessionError('session_required');
  }

  /** Whether the method changes state, so a session-authenticated request needs CSRF proof. */
  get isUnsafe(): boolean {
    return !safeMethods.has(this.#request.method.toUpperCase());
  }

  /**
   * CSRF for an unsafe method on a session-authenticated request: a cross-site fetch or a foreign
   * Origin is refused first (`csrf_origin_mismatch`), then the synchronizer token must match
   * (`csrf_token_invalid`). Requests without a session or with a safe method pass.
   */
  checkCsrf(submittedToken: string | undefined): void {
    const session = this.#session;
    if (session === null || !this.isUnsafe) return;
    const { secFetchSite, origin } = this.#request;
    if (secFetchSite === 'cross-site') throw new SessionError('csrf_origin_mismatch');
    if (origin !== undefined && !this.#originAllowed(origin)) throw new SessionError('csrf_origin_mismatch');
    if (!session.csrfTokenMatches(submittedToken)) throw new SessionError('csrf_token_invalid');
  }

  #originAllowed(origin: string): boolean {
    const allowed = this.#manager.options.allowedOrigins;
    if (allowed !== undefined) return allowed.includes(origin);
    const host = this.#request.host;
    return host !== undefined && origin.toLowerCase() === `${this.#request.protocol}://${host.toLowerCase()}`;
  }

  /** Login: the current session (if any) ends and a new id is issued, whatever the client sent. */
  async login(userId: string, data: Data): Promise<Session<Data>> {
    if (this.#state === 'unavailable' && this.#error !== undefined) throw this.#error;
    const { id, session } = await this.#manager.regenerate(this.#session, userId, data, {
      userAgent: this.#request.userAgent,
      address: this.#request.address,
    });
    this.#adopt(id, session);
    return session;
  }

  /** Privilege change: a new id for the same session. */
  async rotate(): Promise<Session<Data>> {
    const { id, session } = await this.#manager.rotate(this.require());
    this.#adopt(id, session);
    return session;
  }

  /** Merges `patch` into the session data (see `SessionManager.update`). */
  async update(patch: Partial<Data>): Promise<Session<Data>> {
    this.#session = await this.#manager.update(this.require(), patch);
    return this.#session;
  }

  /**
   * Ends the session in the store (every instance sees it at once) and tells the browser to drop
   * the cookie. Safe to call without a session: the browser is still told.
   */
  async logout(): Promise<void> {
    if (this.#session !== null) await this.#manager.destroy(this.#session);
    this.#session = null;
    this.#state = 'anonymous';
    this.#setHeader(
      'set-cookie',
      serializeCookie(this.#cookieName, '', {
        secure: this.#secure,
        sameSite: this.#manager.options.sameSite,
        maxAgeSeconds: 0,
      }),
    );
    this.#setHeader('clear-site-data', '"cookies"');
    this.#setHeader('cache-control', 'no-store');
  }

  #adopt(id: string, session: Session<Data>): void {
    this.#session = session;
    this.#state = 'active';
    this.#error = undefined;
    const maxAgeSeconds = Math.max(
      0,
      Math.ceil((session.absoluteExpiresAt - this.#manager.options.now()) / 1000),
    );
    this.#setHeader(
      'set-cookie',
      serializeCookie(this.#cookieName, id, {
        secure: this.#secure,
        sameSite: this.#manager.options.sameSite,
        maxAgeSeconds,
      }),
    );
    // A response carrying a session id must never be stored by a shared cache.
    this.#setHeader('cache-control', 'no-store');
  }
}
