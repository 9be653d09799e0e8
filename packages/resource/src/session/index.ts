export { SESSION_REFERENCE_HEADER, SessionCredential } from './credential.js';
export {
  createSessionReferences,
  type OpenedReference,
  type SessionReferenceOptions,
  type SessionReferences,
} from './reference.js';
export { type SessionSourceOptions, sessionSource } from './source.js';
