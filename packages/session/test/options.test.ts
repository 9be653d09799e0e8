import { readFileSync } from 'node:fs';
import { errorCodeRegistry, TesseraError, TesseraTypeError } from '@tessera/core';
import { MemoryStore } from '@tessera/storage';
import { afterAll, describe, expect, it } from 'vitest';
import { errorResponse, SessionError, sessionErrorCodes } from '../src/errors.js';
import { createSessionManager, type SessionData } from '../src/manager.js';
import type { SessionManagerOptions } from '../src/options.js';

describe('options are validated at construction', () => {
  const store = new MemoryStore();
  afterAll(() => store.close());
  const build = (options: Record<string, unknown>) => () =>
    createSessionManager<SessionData>({ store, onWarning: () => {}, ...options } as SessionManagerOptions);

  it.each([
    ['no store', { store: undefined }],
    ['a store that is not one', { store: {} }],
    ['an unknown option', { idleTimeout: 5 }],
    ['an unknown cookie option', { cookie: { domain: 'example.com' } }],
    ['a cookie name without __Host-', { cookie: { name: 'sid' } }],
    ['a cookie name with a separator', { cookie: { name: '__Host-a;b' } }],
    ['a bad SameSite', { cookie: { sameSite: 'lax' } }],
    ['SameSite=None without Secure', { cookie: { sameSite: 'None', insecureHttpLocalhost: true } }],
    ['a negative idle timeout', { idleTimeoutMs: -1 }],
    ['a fractional absolute timeout', { absoluteTimeoutMs: 1.5 }],
    ['idle longer than absolute', { idleTimeoutMs: 10_000, absoluteTimeoutMs: 5_000 }],
    ['touch interval not below idle', { idleTimeoutMs: 10_000, touchIntervalMs: 10_000 }],
    ['a zero store timeout', { storeTimeoutMs: 0 }],
    ['an origin with a path', { allowedOrigins: ['https://app.example/path'] }],
    ['an empty origin list', { allowedOrigins: [] }],
    ['a clock that is not a function', { now: 5 }],
  ])('%s -> TesseraTypeError ERR_INVALID_SESSION_OPTION', (_name, options) => {
    let thrown: unknown;
    try {
      build(options)();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TesseraTypeError);
    expect((thrown as TesseraTypeError).code).toBe('ERR_INVALID_SESSION_OPTION');
  });

  it.each([
    [{ idleTimeout: 5 }, 'unknown option idleTimeout'],
    [{ cookie: { domain: 'example.com' } }, 'unknown option cookie.domain'],
    [{ store: {} }, 'store must be a KeyValueStore from @tessera/storage'],
    [{ cookie: 5 }, 'cookie must be an object'],
    [{ cookie: { sameSite: 'lax' } }, 'cookie.sameSite must be Strict, Lax or None'],
    [{ storeTimeoutMs: 0 }, 'storeTimeoutMs must be a positive integer of milliseconds'],
    [{ touchIntervalMs: 2 ** 60 }, 'touchIntervalMs must be a positive integer of milliseconds'],
    [{ maxUpdateAttempts: -1 }, 'maxUpdateAttempts must be a positive integer'],
    [{ allowedOrigins: [5] }, 'allowedOrigins must contain strings'],
    [{ keyPrefix: 1 }, 'keyPrefix must be a string'],
    [{ onWarning: 'log' }, 'onWarning must be a function'],
  ])('%j -> a message naming the option: %s', (options, message) => {
    expect(build(options)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_SESSION_OPTION', message }));
  });

  it('applies the documented defaults and freezes them', () => {
    const manager = build({})();
    expect(manager.options).toMatchObject({
      cookieName: '__Host-tessera-sid',
      sameSite: 'Lax',
      insecureHttpLocalhost: false,
      idleTimeoutMs: 30 * 60_000,
      absoluteTimeoutMs: 12 * 3_600_000,
      touchIntervalMs: 60_000,
      storeTimeoutMs: 1_000,
      keyPrefix: 'session:',
    });
    expect(Object.isFrozen(manager.options)).toBe(true);
    expect(manager.warnings).toEqual([]);
  });

  it('SameSite Strict and None are accepted with Secure', () => {
    expect(build({ cookie: { sameSite: 'Strict' } })().options.sameSite).toBe('Strict');
    expect(build({ cookie: { sameSite: 'None' } })().options.sameSite).toBe('None');
  });
});

describe('error codes', () => {
  it('are unique across the session family and every core family', () => {
    for (const code of Object.keys(sessionErrorCodes)) expect(errorCodeRegistry).not.toHaveProperty(code);
  });

  it('every code is documented in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of Object.keys(sessionErrorCodes)) expect(readme).toContain(`\`${code}\``);
  });

  it('are TesseraErrors with a status; the wire body carries no cause, stack or secret', () => {
    const cause = new Error('redis at 10.1.2.3:6379 password=hunter2');
    const error = new SessionError('session_store_unavailable', undefined, { cause });
    expect(error).toBeInstanceOf(TesseraError);
    expect(error.status).toBe(503);
    const { status, body } = errorResponse(error);
    expect(status).toBe(503);
    expect(JSON.stringify(body)).not.toMatch(/10\.1\.2\.3|hunter2|at /);
    expect(errorResponse(new Error('boom at /secret/path'))).toEqual({
      status: 500,
      body: { error: 'server_error', error_description: 'internal error' },
    });
    expect(new SessionError('csrf_token_invalid').status).toBe(403);
    expect(new SessionError('csrf_origin_mismatch').status).toBe(403);
    expect(new SessionError('session_required').status).toBe(401);
  });
});
