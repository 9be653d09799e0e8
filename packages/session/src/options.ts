import type { SameSite } from '@tessera/core';
import { TesseraTypeError } from '@tessera/core';
import type { KeyValueStore } from '@tessera/storage';
import { z } from 'zod';

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
const storeMethods = ['get', 'set', 'delete', 'compareAndSet', 'setAdd', 'setRemove', 'setMembers', 'expire'];

// Each rule carries the message a caller sees, naming the option; the first problem found is
// thrown (`ERR_INVALID_SESSION_OPTION`), an unknown key before a wrong value.
const error = (message: string) => ({ error: message });

function milliseconds(name: string) {
  const message = error(`${name} must be a positive integer of milliseconds`);
  return z.number(message).int(message).positive(message);
}

const isFunction = (value: unknown) => typeof value === 'function';

function isStore(value: unknown): value is KeyValueStore {
  return (
    typeof value === 'object' &&
    value !== null &&
    storeMethods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  );
}

function isBareOrigin(origin: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  return (parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.origin === origin;
}

const cookieName = 'cookie.name must start with __Host- followed by cookie-name characters';
const originsMessage = 'allowedOrigins must be a non-empty array of origins';

const schema = z.strictObject(
  {
    store: z.custom<KeyValueStore>(isStore, error('store must be a KeyValueStore from @tessera/storage')),
    cookie: z
      .strictObject(
        {
          name: z
            .string(error(cookieName))
            .regex(cookieNameShape, error(cookieName))
            .default('__Host-tessera-sid'),
          sameSite: z
            .enum(['Strict', 'Lax', 'None'], error('cookie.sameSite must be Strict, Lax or None'))
            .default('Lax'),
          insecureHttpLocalhost: z
            .boolean(error('cookie.insecureHttpLocalhost must be a boolean'))
            .default(false),
        },
        error('cookie must be an object'),
      )
      .prefault({}),
    idleTimeoutMs: milliseconds('idleTimeoutMs').default(30 * minute),
    absoluteTimeoutMs: milliseconds('absoluteTimeoutMs').default(12 * 60 * minute),
    // Its default depends on idleTimeoutMs: at most half of it.
    touchIntervalMs: milliseconds('touchIntervalMs').optional(),
    storeTimeoutMs: milliseconds('storeTimeoutMs').default(1_000),
    keyPrefix: z.string(error('keyPrefix must be a string')).default('session:'),
    allowedOrigins: z
      .array(
        z
          .string(error('allowedOrigins must contain strings'))
          .refine(
            isBareOrigin,
            error('allowedOrigins entries must be bare origins such as https://app.example'),
          ),
        error(originsMessage),
      )
      .min(1, error(originsMessage))
      .optional(),
    maxUpdateAttempts: z
      .number(error('maxUpdateAttempts must be a positive integer'))
      .int(error('maxUpdateAttempts must be a positive integer'))
      .positive(error('maxUpdateAttempts must be a positive integer'))
      .default(10),
    now: z
      .custom<() => number>(isFunction, error('now must be a function returning milliseconds'))
      .default(() => Date.now),
    onWarning: z
      .custom<(message: string) => void>(isFunction, error('onWarning must be a function'))
      .optional(),
  },
  error('options must be an object'),
);

function invalid(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_SESSION_OPTION', message);
}

/** The message of the first problem: an unknown key (named with its path) before a wrong value. */
function problemOf(issues: readonly z.core.$ZodIssue[]): string {
  const unknown = issues.find((issue) => issue.code === 'unrecognized_keys');
  if (unknown !== undefined) return `unknown option ${[...unknown.path, unknown.keys[0]].join('.')}`;
  return issues[0]?.message ?? 'options are invalid';
}

/** Validates once, at construction: a wrong option is the programmer's bug, thrown at start. */
export function resolveOptions(options: SessionManagerOptions): ResolvedOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) throw invalid(problemOf(parsed.error.issues));
  const { cookie, idleTimeoutMs, absoluteTimeoutMs, allowedOrigins, ...value } = parsed.data;
  if (cookie.insecureHttpLocalhost && cookie.sameSite === 'None') {
    throw invalid('cookie.sameSite None requires Secure and cannot be combined with insecureHttpLocalhost');
  }
  const touchIntervalMs = value.touchIntervalMs ?? Math.min(minute, Math.floor(idleTimeoutMs / 2));
  if (idleTimeoutMs > absoluteTimeoutMs) throw invalid('idleTimeoutMs must not exceed absoluteTimeoutMs');
  if (touchIntervalMs >= idleTimeoutMs) throw invalid('touchIntervalMs must be shorter than idleTimeoutMs');
  const onWarning =
    value.onWarning ?? ((message: string) => process.emitWarning(message, 'TesseraSessionWarning'));

  const warnings: string[] = [];
  if (cookie.insecureHttpLocalhost) {
    warnings.push(
      'cookie.insecureHttpLocalhost is on: plain-http requests to localhost get a session cookie without Secure ' +
        'and without the __Host- prefix. Never enable this in production.',
    );
  }
  for (const warning of warnings) onWarning(warning);

  return Object.freeze({
    store: value.store,
    cookieName: cookie.name,
    devCookieName: cookie.name.slice('__Host-'.length),
    sameSite: cookie.sameSite,
    insecureHttpLocalhost: cookie.insecureHttpLocalhost,
    idleTimeoutMs,
    absoluteTimeoutMs,
    touchIntervalMs,
    storeTimeoutMs: value.storeTimeoutMs,
    keyPrefix: value.keyPrefix,
    allowedOrigins: allowedOrigins === undefined ? undefined : Object.freeze([...allowedOrigins]),
    maxUpdateAttempts: value.maxUpdateAttempts,
    now: value.now,
    warnings: Object.freeze(warnings),
  });
}
