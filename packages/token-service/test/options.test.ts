import { InProcessChannel, MemoryStore } from '@tessera/storage';
import type { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { resolveOptions, type TokenServiceOptions } from '../src/options.js';

const base: TokenServiceOptions = {
  issuer: 'https://auth.example.com',
  // resolveOptions only checks the shape of the dependencies; nothing is called.
  database: { selectFrom() {}, destroy() {} } as unknown as Kysely<unknown>,
  store: new MemoryStore(),
  channel: new InProcessChannel(),
  secret: 'x'.repeat(32),
};

function misuse(options: Partial<TokenServiceOptions> & Record<string, unknown>, pattern: RegExp): void {
  expect(() => resolveOptions({ ...base, ...options } as TokenServiceOptions)).toThrowError(pattern);
  try {
    resolveOptions({ ...base, ...options } as TokenServiceOptions);
  } catch (error) {
    expect(error).toMatchObject({ name: 'TesseraTypeError', code: 'ERR_INVALID_TOKEN_SERVICE_OPTIONS' });
  }
}

describe('token service options', () => {
  it('applies defaults and freezes the result', () => {
    const resolved = resolveOptions(base);
    expect(resolved).toMatchObject({
      accessTokenLifetime: 300,
      codeLifetime: 60,
      dev: false,
      bodyLimit: 64 * 1024,
      warnings: [],
    });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(resolved.now()).toBeTypeOf('number');
  });

  it('docs/security.md I96: a plain-http issuer must be loopback unless explicitly allowed (with a warning)', () => {
    for (const issuer of ['http://127.0.0.1:9000', 'http://localhost:9000', 'http://[::1]:9000']) {
      expect(resolveOptions({ ...base, issuer }).warnings).toEqual([]);
    }
    misuse({ issuer: 'http://auth.example.com' }, /loopback/);
    const allowed = resolveOptions({ ...base, issuer: 'http://auth.example.com', allowInsecureIssuer: true });
    expect(allowed.warnings.join()).toMatch(/INSECURE/);
    misuse({ issuer: 'ftp://auth.example.com' }, /https/);
    misuse({ issuer: 'not a url' }, /https/);
    misuse({ issuer: 'https://auth.example.com/?x=1' }, /query/);
    misuse({ issuer: 'https://auth.example.com/#x' }, /fragment/);
  });

  it('refuses a secret shorter than 32 bytes outside dev', () => {
    misuse({ secret: 'short' }, /32 bytes/);
    const dev = resolveOptions({ ...base, secret: 'short', dev: true });
    expect(dev.warnings.join()).toMatch(/secret/);
  });

  it('refuses unknown options, wrong types and missing dependencies', () => {
    misuse({ colour: 'blue' }, /option/);
    misuse({ accessTokenLifetime: -1 }, /accessTokenLifetime/);
    misuse({ accessTokenLifetime: 1.5 }, /accessTokenLifetime/);
    misuse({ store: {} as never }, /store/);
    misuse({ refreshTokenIdleLifetime: 100, refreshTokenAbsoluteLifetime: 10 }, /refreshTokenIdleLifetime/);
  });
});
