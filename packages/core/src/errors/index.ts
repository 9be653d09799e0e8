export {
  type AnswerProtocol,
  answerFor,
  type BearerProtocol,
  bearerProtocol,
  type ErrorAnswer,
  type JsonErrorBody,
  type OAuthErrorBody,
  sanitizeDescription,
} from './answer.js';
export { AuthError, type AuthErrorCode, type AuthErrorOptions, authErrorCodes } from './auth.js';
export {
  ERROR_CODE_PATTERN,
  type ErrorCodeEntry,
  isTesseraError,
  type MisuseCode,
  TesseraError,
  type TesseraErrorOptions,
  TesseraTypeError,
} from './base.js';
export { ConfigError, type ConfigErrorCode, configErrorCodes } from './config.js';
export { DpopError, type DpopErrorCode, type DpopOAuthError, dpopErrorCodes } from './dpop.js';
export {
  type ErrorCodes,
  type ErrorFamily,
  type ErrorFamilyOptions,
  errorFamily,
  errorRegistry,
} from './family.js';
export { toTesseraError } from './framework.js';
export {
  type AnswerLog,
  type AnswerReply,
  type AnswerRequest,
  answerClientError,
  type ErrorAnswering,
  type ErrorAnsweringOptions,
  errorAnswering,
  sendAnswer,
  writeAnswer,
  writeAnswerTo,
} from './handlers.js';
export { bodyRefusal, HttpError, type HttpErrorCode, httpErrorCodes } from './http.js';
export { type CoreMisuseCode, coreMisuseCodes } from './misuse.js';
export { OutboundError, type OutboundErrorCode, outboundErrorCodes } from './outbound.js';
export { coreErrorRegistry, type ErrorRegistry } from './registry.js';
export { StorageError, type StorageErrorCode, storageErrorCodes } from './storage.js';
export { TokenError, type TokenErrorCode, tokenErrorCodes } from './token.js';
