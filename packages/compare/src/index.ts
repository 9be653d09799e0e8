export type { PublicClient, User } from './credentials.js';
export { reportHtml } from './html.js';
export type { ComparePlatform, PreparedSystem, PrepareRequest, SystemPorts, UserRoute } from './platform.js';
export { barProgress, type ProgressView, plainProgress } from './progress.js';
export { type CompareOptions, runCompare } from './run.js';
export {
  type CompareReport,
  type Cost,
  type FaultName,
  type FaultReport,
  faultNames,
  type ModeName,
  type ModeReport,
  modeNames,
  reportSchema,
} from './schema.js';
export { reportTable } from './table.js';
export { loadWorkload, type Workload, type WorkloadRequest } from './workload.js';
