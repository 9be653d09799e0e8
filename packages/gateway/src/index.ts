export { answerOf } from './answer.js';
export { createGateway, type GatewayOptions } from './app.js';
export type { GatewaySessionData } from './auth/session.js';
export {
  type AuthMode,
  type GatewayConfig,
  type GatewayConfigInput,
  type LoadGatewayConfigOptions,
  loadGatewayConfig,
  parseGatewayConfig,
  type RouteConfig,
  type StoreConfig,
} from './config.js';
export { type ErrorBody, GatewayError, type GatewayErrorCode, gatewayErrorCodes } from './errors.js';
