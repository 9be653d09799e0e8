export {
  SessionError,
  type SessionErrorCode,
  sessionErrorCodes,
  sessionErrorRegistry,
} from './errors.js';
export {
  type CookieAttributes,
  type CookieLookup,
  findCookie,
  type SameSite,
  serializeCookie,
} from './lib/cookie.js';
export { hashSessionId, isWellFormedSessionId } from './lib/ids.js';
export {
  type ClientInfo,
  type CreatedSession,
  createSessionManager,
  type SessionData,
  type SessionInfo,
  type SessionManager,
} from './manager.js';
export type { ResolvedOptions, SessionCookieOptions, SessionManagerOptions } from './options.js';
export {
  type HeaderSink,
  type HttpRequestInfo,
  httpRequestInfo,
  type NodeRequestLike,
  RequestSession,
  relaxedCookies,
  type SessionState,
} from './request.js';
export { Session } from './session.js';
