import type { SameSite } from '@tessera/core';
import { TesseraTypeError } from '@tessera/core';
import type { KeyValueStore } from '@tessera/storage';

export interface SessionCookieOptions {
  /** Must start with `__Host-` (no Domain, Path=/, Secure). Default `__Host-tessera-sid`. */
  readonly name?: string;
  /** Default `Lax`. `None` needs Secure, so it cannot be combined with `insecureHttpLocalhost`. */
  readonly sameSite?: SameSite;
  /**
   * Development only: on a plain-http request whose Host is localhost, 127.0.0.1 or [::1], the
   * cookie is sent without Secure and without the `__Host-` prefix (browsers refuse a `__Host-`
   * cookie that is not Secure). Every other request keeps Secure. Logs a warning at start.
   */
  readonly insecureHttpLocalhost?: boolean;
}

export interface SessionManagerOptions {
  /** Where sessions live: MemoryStore (one process), SqliteStore (one machine), RedisStore (many). */
  readonly store: KeyValueStore;
  readonly cookie?: SessionCookieOptions;
  /** A session unused for this long ends. Default 30 minutes. */
  readonly idleTimeoutMs?: number;
  /** A session ends this long after login, however active. Default 12 hours. */
  readonly absoluteTimeoutMs?: number;
  /** Last-seen is written at most once per interval, so most requests cost no write. Default 60 s. */
  readonly touchIntervalMs?: number;
  /** No store call (and so no request) waits longer than this. Default 1 000 ms. */
  readonly storeTimeoutMs?: number;
  /** Prepended to every key this manager writes. Default `session:`. */
  readonly keyPrefix?: string;
  /**
   * Origins (`https://app.example`) an unsafe request may come from when the browser sends
   * `Origin`. Default: only the request's own origin (its scheme and Host).
   */
  readonly allowedOrigins?: readonly string[];
  /** How often a conflicting update is retried before `session_update_conflict`. Default 10. */
  readonly maxUpdateAttempts?: number;
  /** Clock in ms since the epoch; inject one in tests. Default `Date.now`. */
  readonly now?: () => number;
  /** Receives warnings about insecure settings. Default: `process.emitWarning`. */
  readonly onWarning?: (message: string) => void;
}

export interface ResolvedOptions {
  readonly store: KeyValueStore;
  readonly cookieName: string;
  /** The name used when the insecure localhost relaxation applies: `cookieName` without `__Host-`. */
  readonly devCookieName: string;
  readonly sameSite: SameSite;
  readonly insecureHttpLocalhost: boolean;
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
  readonly touchIntervalMs: number;
  readonly storeTimeoutMs: number;
  readonly keyPrefix: string;
  readonly allowedOrigins: readonly string[] | undefined;
  readonly maxUpdateAttempts: number;
  readonly now: () => number;
  readonly warnings: readonly string[];
}

const minute = 60_000;
const cookieNameShape = /^__Host-[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const sameSites: readonly SameSite[] = ['Strict', 'Lax', 'None'];
const known = new Set([
  'store',
  'cookie',
  'idleTimeoutMs',
  'absoluteTimeoutMs',
  'touchIntervalMs',
  'storeTimeoutMs',
  'keyPrefix',
  'allowedOrigins',
  'maxUpdateAttempts',
  'now',
  'onWarning',
]);

function invalid(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_SESSION_OPTION', message);
}

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw invalid(`${name} must be a positive integer of milliseconds`);
  }
  return value;
}

function isStore(value: unknown): value is KeyValueStore {
  const methods = ['get', 'set', 'delete', 'compareAndSet', 'setAdd', 'setRemove', 'setMembers', 'expire'];
  return (
    typeof value === 'object' &&
    value !== null &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  );
}

function origins(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    throw invalid('allowedOrigins must be a non-empty array of origins');
  }
  return Object.freeze(
    value.map((origin: unknown) => {
      if (typeof origin !== 'string') throw invalid('allowedOrigins must contain strings');
      let parsed: URL;
      try {
        parsed = new URL(origin);
      } catch {
        throw invalid('allowedOrigins must contain absolute http(s) origins');
      }
      if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.origin !== origin) {
        throw invalid('allowedOrigins entries must be bare origins such as https://app.example');
      }
      return origin;
    }),
  );
}

/** Validates once, at construction: a wrong option is the programmer's bug, thrown at start. */
export function resolveOptions(options: SessionManagerOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw invalid(`unknown option ${key}`);
  }
  if (!isStore(options.store)) throw invalid('store must be a KeyValueStore from @tessera/storage');
  const cookie = options.cookie ?? {};
  if (typeof cookie !== 'object' || cookie === null) throw invalid('cookie must be an object');
  for (const key of Object.keys(cookie)) {
    if (!['name', 'sameSite', 'insecureHttpLocalhost'].includes(key))
      throw invalid(`unknown option cookie.${key}`);
  }
  const cookieName = cookie.name ?? '__Host-tessera-sid';
  if (typeof cookieName !== 'string' || !cookieNameShape.test(cookieName)) {
    throw invalid('cookie.name must start with __Host- followed by cookie-name characters');
  }
  const sameSite = cookie.sameSite ?? 'Lax';
  if (!sameSites.includes(sameSite)) throw invalid('cookie.sameSite must be Strict, Lax or None');
  const insecure = cookie.insecureHttpLocalhost ?? false;
  if (typeof insecure !== 'boolean') throw invalid('cookie.insecureHttpLocalhost must be a boolean');
  if (insecure && sameSite === 'None') {
    throw invalid('cookie.sameSite None requires Secure and cannot be combined with insecureHttpLocalhost');
  }

  const idleTimeoutMs = positiveInteger(options.idleTimeoutMs, 'idleTimeoutMs', 30 * minute);
  const absoluteTimeoutMs = positiveInteger(options.absoluteTimeoutMs, 'absoluteTimeoutMs', 12 * 60 * minute);
  const touchIntervalMs = positiveInteger(
    options.touchIntervalMs,
    'touchIntervalMs',
    Math.min(minute, Math.floor(idleTimeoutMs / 2)),
  );
  const storeTimeoutMs = positiveInteger(options.storeTimeoutMs, 'storeTimeoutMs', 1_000);
  if (idleTimeoutMs > absoluteTimeoutMs) throw invalid('idleTimeoutMs must not exceed absoluteTimeoutMs');
  if (touchIntervalMs >= idleTimeoutMs) throw invalid('touchIntervalMs must be shorter than idleTimeoutMs');
  const maxUpdateAttempts = positiveInteger(options.maxUpdateAttempts, 'maxUpdateAttempts', 10);
  const keyPrefix = options.keyPrefix ?? 'session:';
  if (typeof keyPrefix !== 'string') throw invalid('keyPrefix must be a string');
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw invalid('now must be a function returning milliseconds');
  const onWarning =
    options.onWarning ?? ((message: string) => process.emitWarning(message, 'TesseraSessionWarning'));
  if (typeof onWarning !== 'function') throw invalid('onWarning must be a function');

  const warnings: string[] = [];
  if (insecure) {
    warnings.push(
      'cookie.insecureHttpLocalhost is on: plain-http requests to localhost get a session cookie without Secure ' +
        'and without the __Host- prefix. Never enable this in production.',
    );
  }
  for (const warning of warnings) onWarning(warning);

  return Object.freeze({
    store: options.store,
    cookieName,
    devCookieName: cookieName.slice('__Host-'.length),
    sameSite,
    insecureHttpLocalhost: insecure,
    idleTimeoutMs,
    absoluteTimeoutMs,
    touchIntervalMs,
    storeTimeoutMs,
    keyPrefix,
    allowedOrigins: origins(options.allowedOrigins),
    maxUpdateAttempts,
    now,
    warnings: Object.freeze(warnings),
  });
}
