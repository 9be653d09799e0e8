// Config schemas are written with the zod the loader validates with, so versions cannot drift apart.
export { z } from 'zod';
export type { ConfigProblem } from '../errors/config.js';
export type { Environment } from './env.js';
export { formatConfigError } from './format.js';
export type { DeepReadonly } from './freeze.js';
export { type DeepPartial, type LoadConfigOptions, type LoadedConfig, loadConfig } from './load.js';
