import type * as z from 'zod';
import type { ConfigProblem } from '../errors/config.js';
import { getPath, isPlainObject, type PlainObject, setPath } from './merge.js';
import { childOf, expectsString } from './schema.js';

/** Environment variables as the process has them; the loader never reads `process.env` itself. */
export type Environment = Readonly<Record<string, string | undefined>>;

export interface EnvOverride {
  readonly variable: string;
  readonly path: readonly string[];
  readonly value: unknown;
}

export interface EnvOverrides {
  readonly overrides: readonly EnvOverride[];
  readonly problems: readonly ConfigProblem[];
}

/**
 * Finds `${PREFIX}__A__B=value` variables and resolves each to a schema path (`a.b`), matching
 * SCREAMING_SNAKE segments to camelCase keys. `base` is the config before env (defaults and file),
 * whose existing record keys a segment may name in any case.
 *
 * A value stays the raw string where the schema expects a string; elsewhere it is parsed as JSON
 * when it parses (numbers, booleans, arrays, objects) and kept as a string when not.
 * Shorter paths come first so `P__REDIS__PORT` wins over a `port` inside `P__REDIS={...}`.
 */
export function readEnvOverrides(
  schema: z.core.$ZodType,
  env: Environment,
  prefix: string,
  base: unknown,
): EnvOverrides {
  const lead = `${prefix}__`.toUpperCase();
  const candidates = Object.keys(env)
    .filter((name) => name.toUpperCase().startsWith(lead) && env[name] !== undefined)
    .map((name) => ({ name, segments: name.slice(lead.length).split('__') }))
    .sort(
      (a, b) => a.segments.length - b.segments.length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );

  const overrides: EnvOverride[] = [];
  const problems: ConfigProblem[] = [];
  for (const { name, segments } of candidates) {
    const source = `environment variable ${name}`;
    if (segments.some((segment) => segment === '')) {
      problems.push({
        source,
        path: '',
        message: 'empty path segment (use exactly two underscores between keys)',
      });
      continue;
    }
    let node = schema;
    const path: string[] = [];
    let failure: string | undefined;
    for (const segment of segments) {
      const existing = getPath(base, path);
      const lookup = childOf(node, segment, isPlainObject(existing) ? Object.keys(existing) : []);
      if (!lookup.found) {
        path.push(segment.toLowerCase());
        failure = lookup.reason;
        break;
      }
      path.push(lookup.key);
      node = lookup.schema;
    }
    if (failure !== undefined) {
      problems.push({ source, path: path.join('.'), message: failure });
      continue;
    }
    const raw = env[name] ?? '';
    overrides.push({ variable: name, path, value: expectsString(node) ? raw : parseLoosely(raw) });
  }
  return { overrides, problems };
}

function parseLoosely(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export function applyOverrides(target: PlainObject, overrides: readonly EnvOverride[]): void {
  for (const override of overrides) setPath(target, override.path, override.value);
}

/** The variable that would set `path`, for hints: `TESSERA__REDIS__KEY_PREFIX` for `redis.keyPrefix`. */
export function variableFor(prefix: string, path: readonly PropertyKey[]): string {
  const segments = path.map((key) =>
    String(key)
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toUpperCase(),
  );
  return [prefix.toUpperCase(), ...segments].join('__');
}
