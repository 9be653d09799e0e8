import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatConfigError, loadConfig } from '../src/config/index.js';
import { ConfigError, TesseraTypeError } from '../src/errors/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function writeConfig(name: string, text: string): string {
  const file = join(dir, `${fileCount++}-${name}`);
  writeFileSync(file, text);
  return file;
}

const schema = z.object({
  name: z.string().default('tessera'),
  logLevel: z.enum(['debug', 'info', 'warn']).default('info'),
  redis: z
    .object({
      url: z.string(),
      port: z.number().int().min(1).max(65535).default(6379),
      keyPrefix: z.string().default('t:'),
      password: z.string().optional(),
    })
    // An absent section still gets validated, so a missing `url` is reported as `redis.url`.
    .prefault({} as { url: string }),
  listeners: z.array(z.object({ port: z.number().int() })).default([]),
  clients: z.record(z.string(), z.object({ secret: z.string() })).default({}),
});

/** Runs `load` and returns the ConfigError it must throw. */
function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, got none');
}

describe('loadConfig: files', () => {
  it('loads a YAML file, applies schema defaults and returns a deep-frozen config', () => {
    const file = writeConfig('a.yaml', 'redis:\n  url: redis://127.0.0.1:6379\nlisteners:\n  - port: 80\n');
    const { config, warnings } = loadConfig({ schema, file, envPrefix: 'TESSERA' });
    expect(config).toEqual({
      name: 'tessera',
      logLevel: 'info',
      redis: { url: 'redis://127.0.0.1:6379', port: 6379, keyPrefix: 't:' },
      listeners: [{ port: 80 }],
      clients: {},
    });
    expect(warnings).toEqual([]);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.redis)).toBe(true);
    expect(Object.isFrozen(config.listeners[0])).toBe(true);
    // Test files are ES modules, so strict mode: writing a frozen object throws.
    expect(() => {
      (config.redis as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => (config.listeners as { port: number }[]).push({ port: 1 })).toThrow(TypeError);
    expect(() => {
      (config.listeners[0] as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('loads a JSON file and a .yml file the same way', () => {
    const json = writeConfig('a.json', JSON.stringify({ redis: { url: 'redis://j', port: 7000 } }));
    const yml = writeConfig('a.yml', 'redis: { url: "redis://j", port: 7000 }\n');
    const fromJson = loadConfig({ schema, file: json, envPrefix: 'TESSERA' }).config;
    const fromYml = loadConfig({ schema, file: yml, envPrefix: 'TESSERA' }).config;
    expect(fromJson.redis.port).toBe(7000);
    expect(fromYml).toEqual(fromJson);
  });

  it('treats an empty YAML file as no settings', () => {
    const file = writeConfig('empty.yaml', '');
    const { config } = loadConfig({
      schema,
      file,
      envPrefix: 'TESSERA',
      env: { TESSERA__REDIS__URL: 'redis://e' },
    });
    expect(config.redis.url).toBe('redis://e');
  });

  it('refuses a missing file with ERR_CONFIG_FILE_UNREADABLE naming it', () => {
    const file = join(dir, 'nope.yaml');
    const error = configError(() => loadConfig({ schema, file, envPrefix: 'TESSERA' }));
    expect(error.code).toBe('ERR_CONFIG_FILE_UNREADABLE');
    expect(error.message).toBe(`config file ${file}: does not exist`);
  });

  it('refuses a directory', () => {
    const file = join(dir, 'a-directory.yaml');
    mkdirSync(file);
    const error = configError(() => loadConfig({ schema, file, envPrefix: 'TESSERA' }));
    expect(error.code).toBe('ERR_CONFIG_FILE_UNREADABLE');
    expect(error.message).toBe(`config file ${file}: is a directory, not a file`);
  });

  it('refuses an extension it cannot parse', () => {
    const file = writeConfig('a.toml', 'x = 1');
    const error = configError(() => loadConfig({ schema, file, envPrefix: 'TESSERA' }));
    expect(error.code).toBe('ERR_CONFIG_FILE_UNREADABLE');
    expect(error.message).toContain('unsupported extension ".toml"');
  });

  it('reports malformed YAML with its line and column and without quoting the file', () => {
    const file = writeConfig(
      'bad.yaml',
      'name: shop\nredis:\n  url: "redis://x password=hunter2-secret\nb: 1\n',
    );
    const error = configError(() => loadConfig({ schema, file, envPrefix: 'TESSERA' }));
    expect(error.code).toBe('ERR_CONFIG_PARSE');
    expect(error.message).toMatch(
      new RegExp(`^config file ${escapeRegExp(file)}: invalid YAML at line \\d+, column \\d+: `),
    );
    expect(error.message).not.toContain('hunter2-secret');
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('refuses a duplicate key, giving its line', () => {
    const file = writeConfig('duplicate.yaml', 'name: shop\nredis:\n  url: x\nname: other\n');
    const error = configError(() => loadConfig({ schema, file, envPrefix: 'TESSERA' }));
    expect(error.code).toBe('ERR_CONFIG_PARSE');
    expect(error.message).toBe(`config file ${file}: invalid YAML at line 4, column 1: duplicate key`);
  });

  it('reports malformed JSON with line and column when V8 gives a position', () => {
    const file = writeConfig('bad.json', '{\n  "redis": {\n    "url": "x",\n  }\n}\n');
    const error = configError(() => loadConfig({ schema, file, envPrefix: 'TESSERA' }));
    expect(error.code).toBe('ERR_CONFIG_PARSE');
    expect(error.message).toBe(
      `config file ${file}: invalid JSON at line 4, column 3: expected double-quoted property name`,
    );
  });

  it('never quotes JSON source even when V8 would', () => {
    const file = writeConfig('token.json', '{"redis": {"password": tok-hunter2-secret}}');
    const error = configError(() => loadConfig({ schema, file, envPrefix: 'TESSERA' }));
    expect(error.code).toBe('ERR_CONFIG_PARSE');
    expect(error.message).toContain(`config file ${file}: invalid JSON`);
    expect(error.message).not.toContain('hunter2');
  });

  it('refuses a YAML alias bomb instead of expanding it', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const name of ['b', 'c', 'd', 'e', 'f']) {
      const previous = String.fromCharCode(name.charCodeAt(0) - 1);
      levels.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(', ')}]`);
    }
    const file = writeConfig('bomb.yaml', `${levels.join('\n')}\n`);
    const error = configError(() => loadConfig({ schema, file, envPrefix: 'TESSERA' }));
    expect(error.code).toBe('ERR_CONFIG_PARSE');
  });

  it('refuses a document that is not a mapping', () => {
    const file = writeConfig('list.yaml', '- 1\n- 2\n');
    const error = configError(() => loadConfig({ schema, file, envPrefix: 'TESSERA' }));
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toBe(`config file ${file}: (root): expected a mapping of keys at the top level`);
  });
});

describe('loadConfig: validation', () => {
  it('refuses an unknown nested key with its path and line', () => {
    const file = writeConfig('unknown.yaml', 'redis:\n  url: redis://x\n  colour: red\n');
    const error = configError(() => loadConfig({ schema, file, envPrefix: 'TESSERA' }));
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toBe(`config file ${file}, line 3: redis.colour: unknown key`);
    expect(error.problems).toEqual([
      { source: `config file ${file}, line 3`, path: 'redis.colour', message: 'unknown key' },
    ]);
  });

  it('refuses unknown keys at the top level, in arrays of objects and in records', () => {
    const file = writeConfig(
      'unknown.json',
      JSON.stringify({
        redis: { url: 'x' },
        extra: true,
        listeners: [{ port: 1, host: 'h' }],
        clients: { shop: { secret: 's', owner: 'o' } },
      }),
    );
    const error = configError(() => loadConfig({ schema, file, envPrefix: 'TESSERA' }));
    expect(error.message.split('\n').sort()).toEqual(
      [
        `config file ${file}: extra: unknown key`,
        `config file ${file}: listeners[0].host: unknown key`,
        `config file ${file}: clients.shop.owner: unknown key`,
      ].sort(),
    );
  });

  it('names the path and what was expected for a wrong type, one line per problem', () => {
    const file = writeConfig('types.yaml', 'logLevel: loud\nredis:\n  url: 5\n  port: high\n');
    const error = configError(() => loadConfig({ schema, file, envPrefix: 'TESSERA' }));
    expect(error.message.split('\n')).toEqual([
      `config file ${file}, line 1: logLevel: expected one of "debug", "info", "warn"`,
      `config file ${file}, line 3: redis.url: expected string, got number`,
      `config file ${file}, line 4: redis.port: expected number, got string`,
    ]);
  });

  it('restates range checks without the value', () => {
    const file = writeConfig('range.json', JSON.stringify({ redis: { url: 'x', port: 70000 } }));
    const error = configError(() => loadConfig({ schema, file, envPrefix: 'TESSERA' }));
    expect(error.message).toBe(`config file ${file}: redis.port: expected number to be <=65535`);
    expect(error.message).not.toContain('70000');
  });

  it('says where a missing required field can be set', () => {
    const error = configError(() => loadConfig({ schema, envPrefix: 'TESSERA' }));
    expect(error.message).toBe(
      'config: redis.url: required, expected string (set it in the config file or with TESSERA__REDIS__URL)',
    );
  });

  it('never echoes a value, least of all a secret-looking one', () => {
    const secret = 'sk-live-4f9a8b7c6d5e-hunter2';
    const file = writeConfig(
      'secrets.yaml',
      [
        'redis:',
        '  url: redis://x',
        `  password: [${secret}-password]`,
        `  token: ${secret}-token`,
        'clients:',
        `  shop: { secret: 12345 }`,
        `logLevel: ${secret}-level`,
      ].join('\n'),
    );
    const error = configError(() =>
      loadConfig({
        schema,
        file,
        envPrefix: 'TESSERA',
        env: { TESSERA__REDIS__PORT: `${secret}-env`, TESSERA__REDIS__KEY: `${secret}-key` },
      }),
    );
    expect(error.problems.map((problem) => problem.path).sort()).toEqual(
      ['clients.shop.secret', 'logLevel', 'redis.port', 'redis.key', 'redis.password', 'redis.token'].sort(),
    );
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain('12345');
    expect(JSON.stringify(error)).not.toContain(secret);
  });

  it('keeps a __proto__ key a key (refused), never a prototype', () => {
    const file = writeConfig('proto.json', '{"redis": {"url": "x"}, "__proto__": {"polluted": true}}');
    const error = configError(() => loadConfig({ schema, file, envPrefix: 'TESSERA' }));
    expect(error.message).toBe(`config file ${file}: __proto__: unknown key`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('leaves the caller schema and defaults untouched', () => {
    const defaults = { redis: { url: 'redis://d' } };
    loadConfig({ schema, defaults, envPrefix: 'TESSERA' });
    expect(Object.isFrozen(defaults)).toBe(false);
    // The strictness lives in a copy: the caller's own schema still strips unknown keys.
    expect(schema.parse({ redis: { url: 'x' }, extra: 1 })).not.toHaveProperty('extra');
  });

  it('accepts strict schemas and keeps keys open where the consumer used a loose object', () => {
    const open = z.strictObject({ labels: z.looseObject({ team: z.string() }) });
    const file = writeConfig('loose.yaml', 'labels:\n  team: a\n  region: eu\n');
    const { config } = loadConfig({ schema: open, file, envPrefix: 'TESSERA' });
    expect(config.labels).toEqual({ team: 'a', region: 'eu' });
  });

  it('attributes a bad value from defaults to the defaults', () => {
    const error = configError(() =>
      loadConfig({ schema, defaults: { redis: { url: 'x', port: 0 } }, envPrefix: 'TESSERA' }),
    );
    expect(error.message).toBe('defaults: redis.port: expected number to be >=1');
  });
});

describe('loadConfig: warnings and misuse', () => {
  it('returns the warnings the consumer computes from the frozen config', () => {
    const file = writeConfig('warn.yaml', 'redis:\n  url: redis://public.example:6379\n');
    const { config, warnings } = loadConfig({
      schema,
      file,
      envPrefix: 'TESSERA',
      warnings: (loaded) => {
        expect(Object.isFrozen(loaded.redis)).toBe(true);
        return loaded.redis.password === undefined ? ['redis has no password'] : [];
      },
    });
    expect(config.redis.password).toBeUndefined();
    expect(warnings).toEqual(['redis has no password']);
    expect(Object.isFrozen(warnings)).toBe(true);
  });

  it('throws a TesseraTypeError for a bad prefix or a schema that is not an object', () => {
    expect(() => loadConfig({ schema, envPrefix: 'TESSERA_' })).toThrow(TesseraTypeError);
    expect(() => loadConfig({ schema, envPrefix: '1X' })).toThrow(/envPrefix/);
    const notAnObject = z.string() as unknown as typeof schema;
    try {
      loadConfig({ schema: notAnObject, envPrefix: 'T' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(TesseraTypeError);
      expect((error as TesseraTypeError).code).toBe('ERR_INVALID_CONFIG_SCHEMA');
    }
  });

  it('formats an error for a command line: prefixed lines, no stack', () => {
    const file = writeConfig('cli.yaml', 'redis:\n  url: 1\n  port: x\n');
    const error = configError(() => loadConfig({ schema, file, envPrefix: 'TESSERA' }));
    const text = formatConfigError(error, 'tessera: ');
    const lines = text.split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines)
      expect(line).toMatch(/^tessera: config file .*cli\.yaml, line \d: redis\.(url|port): expected/);
    expect(text).not.toMatch(/\n\s+at /);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
