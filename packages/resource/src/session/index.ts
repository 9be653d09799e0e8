export { SESSION_REFERENCE_HEADER, SessionCredential } from './credential.js';
export {
  deriveReferenceKey,
  keysByPart,
  type PartKeys,
  parseMintingKeys,
  parseReferenceKeys,
  type ReferenceKey,
} from './keys.js';
export {
  createSessionReferences,
  MAX_REFERENCE_CHAIN,
  type OpenedReference,
  type SessionReferenceOptions,
  type SessionReferences,
} from './reference.js';
export { type SessionSourceOptions, sessionSource } from './source.js';
