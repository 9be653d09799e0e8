// The config loader is its own entry (`@tessera/core/config`): a service that only verifies
// tokens imports `@tessera/core` and never loads the YAML parser. Schemas are written with zod,
// which each package that writes one declares itself (the same range as here).
export type { ConfigProblem } from '../errors/config.js';
export type { Environment } from './env.js';
export { formatConfigError } from './format.js';
export type { DeepReadonly } from './freeze.js';
export { type DeepPartial, type LoadConfigOptions, type LoadedConfig, loadConfig } from './load.js';
