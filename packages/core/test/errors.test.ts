import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectErrorTables } from '../../../test/support/error-tables.js';
import {
  AuthError,
  answerFor,
  authErrorCodes,
  ConfigError,
  configErrorCodes,
  coreErrorRegistry,
  DpopError,
  dpopErrorCodes,
  errorFamily,
  errorRegistry,
  HttpError,
  httpErrorCodes,
  isTesseraError,
  OutboundError,
  outboundErrorCodes,
  StorageError,
  storageErrorCodes,
  TesseraError,
  TesseraTypeError,
  TokenError,
  tokenErrorCodes,
} from '../src/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

const families = [
  { name: 'token', codes: tokenErrorCodes, make: (code: string) => new TokenError(code as never) },
  { name: 'config', codes: configErrorCodes, make: (code: string) => new ConfigError(code as never, 'm') },
  { name: 'storage', codes: storageErrorCodes, make: (code: string) => new StorageError(code as never, 'm') },
  { name: 'auth', codes: authErrorCodes, make: (code: string) => new AuthError(code as never, 'm') },
  { name: 'http', codes: httpErrorCodes, make: (code: string) => new HttpError(code as never) },
  { name: 'dpop', codes: dpopErrorCodes, make: (code: string) => new DpopError(code as never) },
  {
    name: 'outbound',
    codes: outboundErrorCodes,
    make: (code: string) => new OutboundError(code as never, 'm'),
  },
];

describe('the error code registry', () => {
  it('holds every code of every family exactly once', () => {
    const all = families.flatMap((family) => Object.keys(family.codes));
    expect(new Set(all).size).toBe(all.length);
    expect(Object.keys(coreErrorRegistry.codes).sort()).toEqual([...all].sort());
  });

  it('documents every code and misuse code in the README with its status and meaning', () => {
    expectErrorTables(readme, coreErrorRegistry);
  });

  it('gives every code an error of its family with a status and the code', () => {
    for (const family of families) {
      for (const code of Object.keys(family.codes)) {
        const error = family.make(code);
        expect(error).toBeInstanceOf(TesseraError);
        expect(error.code).toBe(code);
        expect(error.status).toBe((family.codes as Record<string, { status: number }>)[code]?.status);
        expect(error.status).toBeGreaterThanOrEqual(400);
        expect(isTesseraError(error)).toBe(true);
      }
    }
  });
});

describe('TesseraError', () => {
  it('hides the message of a server error from a caller and keeps the cause for the log', () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    const error = new StorageError('ERR_STORAGE_UNAVAILABLE', 'redis is down', { cause });
    expect(error.status).toBe(503);
    expect(error.expose).toBe(false);
    expect(error.toJSON()).toEqual({
      error: { code: 'ERR_STORAGE_UNAVAILABLE', message: 'temporarily unavailable' },
    });
    expect(JSON.stringify(error)).not.toContain('ECONNREFUSED');
    expect(error.cause).toBe(cause);
  });

  it('shows the message of a client error', () => {
    const error = new AuthError('ERR_AUTH_INSUFFICIENT_SCOPE', 'the orders:write scope is required');
    expect(error.status).toBe(403);
    expect(error.toJSON()).toEqual({
      error: { code: 'ERR_AUTH_INSUFFICIENT_SCOPE', message: 'the orders:write scope is required' },
    });
  });

  it('serialises as the body answerFor sends', () => {
    for (const error of [
      new StorageError('ERR_STORAGE_UNAVAILABLE', 'redis is down'),
      new AuthError('ERR_AUTH_REQUIRED', 'no credentials'),
      new HttpError('ERR_HTTP_NOT_FOUND'),
    ]) {
      expect(JSON.parse(JSON.stringify(error))).toEqual(answerFor(error).body);
    }
  });

  it('names the subclass, so a log line says which family failed', () => {
    expect(new TokenError('ERR_JWT_EXPIRED').name).toBe('TokenError');
    expect(new ConfigError('ERR_CONFIG_INVALID', 'm').name).toBe('ConfigError');
  });

  it('tells programmer misuse apart with a TypeError carrying a code', () => {
    const misuse = new TesseraTypeError('ERR_INVALID_OPTION', 'clockTolerance must be at most 60');
    expect(misuse).toBeInstanceOf(TypeError);
    expect(misuse.code).toBe('ERR_INVALID_OPTION');
    expect(isTesseraError(misuse)).toBe(false);
    expect(isTesseraError(new Error('plain'))).toBe(false);
  });
});

describe('errorFamily', () => {
  const codes = {
    ERR_DEMO_REFUSED: { status: 409, meaning: 'The demo refused.' },
    ERR_DEMO_DOWN: { status: 503, meaning: 'The demo is down.' },
  } as const;
  class DemoError extends errorFamily(codes, { headers: { ERR_DEMO_DOWN: { 'retry-after': '9' } } }) {}
  class OtherError extends errorFamily(codes, { expose: true }) {}

  it('makes a class of its own per family, named by the class that extends it', () => {
    const error = new DemoError('ERR_DEMO_REFUSED');
    expect(error).toBeInstanceOf(DemoError);
    expect(error).toBeInstanceOf(TesseraError);
    expect(error).not.toBeInstanceOf(OtherError);
    expect(new StorageError('ERR_STORAGE_UNAVAILABLE', 'm')).not.toBeInstanceOf(TokenError);
    expect(error.name).toBe('DemoError');
    expect(isTesseraError(error)).toBe(true);
  });

  it("answers each code with its registry's status, and its meaning when no message is given", () => {
    const error = new DemoError('ERR_DEMO_REFUSED');
    expect([error.status, error.message, error.expose]).toEqual([409, 'The demo refused.', true]);
    expect(new DemoError('ERR_DEMO_REFUSED', 'not now').message).toBe('not now');
  });

  it("keeps a 5xx's message from the client unless the family says its messages are written for it", () => {
    expect(new DemoError('ERR_DEMO_DOWN').expose).toBe(false);
    expect(new OtherError('ERR_DEMO_DOWN').expose).toBe(true);
    expect(new DemoError('ERR_DEMO_DOWN', 'm', { expose: true }).expose).toBe(true);
  });

  it("adds a code's own headers under the ones an error is made with", () => {
    expect(new DemoError('ERR_DEMO_DOWN').headers).toEqual({ 'retry-after': '9' });
    expect(
      new DemoError('ERR_DEMO_DOWN', 'm', { headers: { 'retry-after': '2', allow: 'GET' } }).headers,
    ).toEqual({
      'retry-after': '2',
      allow: 'GET',
    });
    expect(new DemoError('ERR_DEMO_REFUSED').headers).toEqual({});
    expect(answerFor(new DemoError('ERR_DEMO_DOWN')).headers['retry-after']).toBe('9');
  });

  it('registers codes and misuse codes frozen', () => {
    const registry = errorRegistry(codes, { ERR_INVALID_DEMO: 'A demo misuse.' });
    expect(registry.codes).toEqual(codes);
    expect(registry.misuse).toEqual({ ERR_INVALID_DEMO: 'A demo misuse.' });
    expect(
      Object.isFrozen(registry) && Object.isFrozen(registry.codes) && Object.isFrozen(registry.misuse),
    ).toBe(true);
  });
});
