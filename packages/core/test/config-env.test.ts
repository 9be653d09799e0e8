import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../src/config/index.js';
import { ConfigError } from '../src/errors/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-config-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schema = z.object({
  debug: z.boolean().default(false),
  redis: z
    .object({
      url: z.string().default('redis://127.0.0.1:6379'),
      port: z.number().int().default(6379),
      keyPrefix: z.string().default('t:'),
      password: z.string().optional(),
      sentinels: z.array(z.object({ host: z.string(), port: z.number() })).optional(),
    })
    .prefault({}),
  session: z
    .object({
      cookie: z
        .object({ secure: z.boolean().default(true), sameSite: z.enum(['lax', 'strict']).default('lax') })
        .prefault({}),
      idleTimeoutSeconds: z.number().default(1800),
    })
    .prefault({}),
  scopes: z.array(z.string()).default([]),
  clients: z.record(z.string(), z.object({ secret: z.string() })).default({}),
});

function load(env: Record<string, string>, extra: { file?: string; defaults?: object } = {}) {
  return loadConfig({ schema, envPrefix: 'TESSERA', env, ...extra }).config;
}

function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, got none');
}

describe('environment overrides', () => {
  it('sets nested paths, mapping SCREAMING_SNAKE to camelCase', () => {
    const config = load({
      TESSERA__REDIS__KEY_PREFIX: 'shop:',
      TESSERA__SESSION__COOKIE__SAME_SITE: 'strict',
      TESSERA__SESSION__IDLE_TIMEOUT_SECONDS: '600',
    });
    expect(config.redis.keyPrefix).toBe('shop:');
    expect(config.session.cookie.sameSite).toBe('strict');
    expect(config.session.idleTimeoutSeconds).toBe(600);
  });

  it('parses numbers, booleans and JSON arrays and objects', () => {
    const config = load({
      TESSERA__REDIS__PORT: '6380',
      TESSERA__DEBUG: 'true',
      TESSERA__SESSION__COOKIE__SECURE: 'false',
      TESSERA__SCOPES: '["orders:read","orders:write"]',
      TESSERA__REDIS__SENTINELS: '[{"host":"s1","port":26379}]',
    });
    expect(config.redis.port).toBe(6380);
    expect(config.debug).toBe(true);
    expect(config.session.cookie.secure).toBe(false);
    expect(config.scopes).toEqual(['orders:read', 'orders:write']);
    expect(config.redis.sentinels).toEqual([{ host: 's1', port: 26379 }]);
  });

  it('keeps the raw string where the schema expects a string', () => {
    const config = load({ TESSERA__REDIS__PASSWORD: '0123', TESSERA__REDIS__KEY_PREFIX: 'true' });
    expect(config.redis.password).toBe('0123');
    expect(config.redis.keyPrefix).toBe('true');
  });

  it('matches names without regard to case', () => {
    expect(load({ tessera__redis__keyprefix: 'lower:' }).redis.keyPrefix).toBe('lower:');
  });

  it('ignores variables without the prefix and double underscore', () => {
    const config = load({ TESSERA_REDIS__PORT: '1', OTHER__REDIS__PORT: '2', TESSERAX__DEBUG: 'true' });
    expect(config.redis.port).toBe(6379);
    expect(config.debug).toBe(false);
  });

  it('never reads process.env on its own', () => {
    process.env.TESSERA__DEBUG = 'true';
    try {
      expect(loadConfig({ schema, envPrefix: 'TESSERA' }).config.debug).toBe(false);
    } finally {
      delete process.env.TESSERA__DEBUG;
    }
  });

  it('layers defaults < file < environment, with schema defaults for what none sets', () => {
    const file = join(dir, 'layers.yaml');
    writeFileSync(file, 'redis:\n  port: 2000\n  url: redis://file\n');
    const config = load(
      { TESSERA__REDIS__PORT: '3000' },
      { file, defaults: { redis: { port: 1000, url: 'redis://defaults', keyPrefix: 'd:' }, debug: true } },
    );
    expect(config.redis.port).toBe(3000);
    expect(config.redis.url).toBe('redis://file');
    expect(config.redis.keyPrefix).toBe('d:');
    expect(config.debug).toBe(true);
    expect(config.session.idleTimeoutSeconds).toBe(1800);
  });

  it('lets a more specific variable win over a whole object set as JSON', () => {
    const config = load({ TESSERA__REDIS: '{"port": 1, "keyPrefix": "j:"}', TESSERA__REDIS__PORT: '2' });
    expect(config.redis.port).toBe(2);
    expect(config.redis.keyPrefix).toBe('j:');
  });

  it('finds a record key written in the file in another case', () => {
    const file = join(dir, 'clients.yaml');
    writeFileSync(file, 'clients:\n  shopWeb:\n    secret: from-file\n');
    const config = load({ TESSERA__CLIENTS__SHOP_WEB__SECRET: 'from-env' }, { file });
    expect(config.clients).toEqual({ shopWeb: { secret: 'from-env' } });
  });

  it('refuses a variable naming an unknown key, with the variable and path', () => {
    const error = configError(() => load({ TESSERA__REDIS__NOPE: '1', TESSERA__COLOUR: 'red' }));
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message.split('\n')).toEqual([
      'environment variable TESSERA__COLOUR: colour: unknown key',
      'environment variable TESSERA__REDIS__NOPE: redis.nope: unknown key',
    ]);
  });

  it('refuses a path into an array or a scalar', () => {
    const error = configError(() => load({ TESSERA__SCOPES__0: 'x', TESSERA__DEBUG__ON: 'true' }));
    expect(error.message).toContain(
      'environment variable TESSERA__SCOPES__0: scopes.0: cannot set a field inside an array; set the whole value as JSON',
    );
    expect(error.message).toContain(
      'environment variable TESSERA__DEBUG__ON: debug.on: cannot set a field inside a boolean',
    );
  });

  it('refuses an empty path segment', () => {
    const error = configError(() => load({ TESSERA__REDIS____PORT: '1' }));
    expect(error.message).toContain(
      'environment variable TESSERA__REDIS____PORT: (root): empty path segment',
    );
  });

  it('names the variable, path and expectation for a wrong type, without the value', () => {
    const error = configError(() =>
      load({ TESSERA__REDIS__PORT: 'hunter2-not-a-port', TESSERA__SESSION__COOKIE__SAME_SITE: 'none' }),
    );
    expect(error.message.split('\n')).toEqual([
      'environment variable TESSERA__REDIS__PORT: redis.port: expected number, got string',
      'environment variable TESSERA__SESSION__COOKIE__SAME_SITE: session.cookie.sameSite: expected one of "lax", "strict"',
    ]);
    expect(error.message).not.toContain('hunter2');
  });

  it('chooses a discriminated-union branch from variables and names a bad discriminator', () => {
    const stores = z.object({
      store: z
        .discriminatedUnion('kind', [
          z.object({ kind: z.literal('redis'), url: z.string() }),
          z.object({ kind: z.literal('memory') }),
        ])
        .default({ kind: 'memory' }),
    });
    const loaded = loadConfig({
      schema: stores,
      envPrefix: 'T',
      env: { T__STORE__KIND: 'redis', T__STORE__URL: 'redis://u' },
    });
    expect(loaded.config.store).toEqual({ kind: 'redis', url: 'redis://u' });
    const error = configError(() =>
      loadConfig({ schema: stores, envPrefix: 'T', env: { T__STORE__KIND: 'disk' } }),
    );
    expect(error.message).toBe(
      'environment variable T__STORE__KIND: store.kind: expected one of "redis", "memory"',
    );
    const extra = configError(() =>
      loadConfig({ schema: stores, envPrefix: 'T', env: { T__STORE: '{"kind":"memory","url":"x"}' } }),
    );
    expect(extra.message).toBe('environment variable T__STORE: store.url: unknown key');
  });

  it('refuses an unknown key inside a JSON value', () => {
    const error = configError(() =>
      load({ TESSERA__REDIS__SENTINELS: '[{"host":"a","port":1,"weight":2}]' }),
    );
    expect(error.message).toBe(
      'environment variable TESSERA__REDIS__SENTINELS: redis.sentinels[0].weight: unknown key',
    );
  });
});
