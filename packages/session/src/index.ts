export {
  type ErrorBody,
  errorResponse,
  SessionError,
  type SessionErrorCode,
  sessionErrorCodes,
} from './errors.js';
export {
  type ClientInfo,
  type CreatedSession,
  createSessionManager,
  type SessionData,
  type SessionInfo,
  type SessionManager,
} from './manager.js';
export type { ResolvedOptions, SessionCookieOptions, SessionManagerOptions } from './options.js';
export { type HeaderSink, RequestSession, type SessionState } from './request.js';
export { Session } from './session.js';
