import * as z from 'zod';
import { TesseraTypeError } from '../errors/base.js';
import { ConfigError, type ConfigProblem } from '../errors/config.js';
import { applyOverrides, type Environment, type EnvOverride, readEnvOverrides, variableFor } from './env.js';
import { type DeepReadonly, deepFreeze } from './freeze.js';
import { describeIssue, displayPath } from './issues.js';
import { deepMerge, getPath, isPlainObject, type PlainObject } from './merge.js';
import { type ConfigFileContent, readConfigFile } from './read-file.js';
import { strictSchema } from './schema.js';

/** Partial all the way down: what `defaults` may supply. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [Key in keyof T]?: DeepPartial<T[Key]> | undefined }
    : T;

export interface LoadConfigOptions<Schema extends z.ZodObject> {
  /** The consumer's zod object schema. Every object in it is made strict: unknown keys are refused. */
  readonly schema: Schema;
  /** A `.yaml`, `.yml` or `.json` file; without one, only defaults and the environment count. */
  readonly file?: string | undefined;
  /** The environment to read overrides from; pass `process.env` from the entry point. */
  readonly env?: Environment | undefined;
  /** `TESSERA` makes `TESSERA__REDIS__PORT=6380` set `redis.port`. */
  readonly envPrefix: string;
  /** The lowest layer, under the file and the environment (the schema's own `.default()`s apply last). */
  readonly defaults?: DeepPartial<z.input<Schema>> | undefined;
  /** Insecure or surprising settings, returned for the caller to log loudly at start. */
  readonly warnings?: ((config: DeepReadonly<z.output<Schema>>) => readonly string[]) | undefined;
}

export interface LoadedConfig<Config> {
  /** The validated config, deep-frozen. */
  readonly config: DeepReadonly<Config>;
  /** What `warnings` returned; empty when none. */
  readonly warnings: readonly string[];
}

const ENV_PREFIX = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Loads a config once, at start: defaults, then the file, then `${envPrefix}__*` variables, then
 * the strict schema (with its defaults). Throws a `ConfigError` whose message has one line per
 * problem, naming the file or variable, the field path and what was expected — never a value.
 */
export function loadConfig<Schema extends z.ZodObject>(
  options: LoadConfigOptions<Schema>,
): LoadedConfig<z.output<Schema>> {
  const { schema, file, env = {}, envPrefix, defaults, warnings } = options;
  if (!(schema instanceof z.ZodObject)) {
    throw new TesseraTypeError('ERR_INVALID_CONFIG_SCHEMA', 'loadConfig: schema must be a zod object schema');
  }
  if (!ENV_PREFIX.test(envPrefix) || envPrefix.endsWith('_')) {
    throw new TesseraTypeError(
      'ERR_INVALID_CONFIG_ENV_PREFIX',
      'loadConfig: envPrefix must be letters, digits and single underscores, like "TESSERA"',
    );
  }

  const content = file === undefined ? undefined : readFile(file);
  const fileData = content?.data ?? {};
  if (!isPlainObject(fileData)) {
    const problem = {
      source: `config file ${file}`,
      path: '',
      message: 'expected a mapping of keys at the top level',
    };
    throw new ConfigError('ERR_CONFIG_INVALID', problemLine(problem), { problems: [problem] });
  }
  const base = deepMerge(defaults ?? {}, fileData) as PlainObject;
  const { overrides, problems: envProblems } = readEnvOverrides(schema, env, envPrefix, base);
  applyOverrides(base, overrides);

  const result = strictSchema(schema).safeParse(base);
  const problems = [...envProblems];
  if (!result.success) {
    const attribute = attributor({ file, content, overrides, defaults, envPrefix });
    for (const issue of result.error.issues) {
      for (const { path, expected } of describeIssue(issue, base)) problems.push(attribute(path, expected));
    }
  }
  if (problems.length > 0 || !result.success) {
    throw new ConfigError('ERR_CONFIG_INVALID', problems.map(problemLine).join('\n'), { problems });
  }

  const config = deepFreeze(result.data as z.output<Schema>);
  return { config, warnings: Object.freeze([...(warnings?.(config) ?? [])]) };
}

function readFile(file: string): ConfigFileContent {
  if (file.trim() === '') throw new ConfigError('ERR_CONFIG_FILE_UNREADABLE', 'config file path is empty');
  return readConfigFile(file);
}

interface Layers {
  readonly file: string | undefined;
  readonly content: ConfigFileContent | undefined;
  readonly overrides: readonly EnvOverride[];
  readonly defaults: unknown;
  readonly envPrefix: string;
}

/** Names the layer a bad value came from: the variable that set it, else the file, else defaults. */
function attributor(layers: Layers): (path: readonly PropertyKey[], expected: string) => ConfigProblem {
  return (path, expected) => {
    const shown = displayPath(path);
    const override = [...layers.overrides]
      .reverse()
      .find((candidate) => candidate.path.every((key, index) => path[index] === key));
    if (override !== undefined) {
      return { source: `environment variable ${override.variable}`, path: shown, message: expected };
    }
    if (layers.file !== undefined && getPath(layers.content?.data, path) !== undefined) {
      return { source: fileSource(layers, path), path: shown, message: expected };
    }
    if (getPath(layers.defaults, path) !== undefined)
      return { source: 'defaults', path: shown, message: expected };
    // Nothing supplied it: say where it could come from.
    const hint = `set it in the config file or with ${variableFor(layers.envPrefix, path)}`;
    const source = layers.file === undefined ? 'config' : fileSource(layers, path);
    return {
      source,
      path: shown,
      message: expected.startsWith('required') ? `${expected} (${hint})` : expected,
    };
  };
}

function fileSource(layers: Layers, path: readonly PropertyKey[]): string {
  const line = layers.content?.lineOf(path);
  return line === undefined ? `config file ${layers.file}` : `config file ${layers.file}, line ${line}`;
}

function problemLine(problem: ConfigProblem): string {
  return `${problem.source}: ${problem.path === '' ? '(root)' : problem.path}: ${problem.message}`;
}
