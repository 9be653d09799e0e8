export { AuthError, type AuthErrorCode, authErrorCodes } from './auth.js';
export { isTesseraError, TesseraError, type TesseraErrorOptions, TesseraTypeError } from './base.js';
export { ConfigError, type ConfigErrorCode, configErrorCodes } from './config.js';
export { DpopError, type DpopErrorCode, type DpopOAuthError, dpopErrorCodes } from './dpop.js';
export { OutboundError, type OutboundErrorCode, outboundErrorCodes } from './outbound.js';
export { StorageError, type StorageErrorCode, storageErrorCodes } from './storage.js';
export { TokenError, type TokenErrorCode, tokenErrorCodes } from './token.js';

import { authErrorCodes } from './auth.js';
import { configErrorCodes } from './config.js';
import { dpopErrorCodes } from './dpop.js';
import { outboundErrorCodes } from './outbound.js';
import { storageErrorCodes } from './storage.js';
import { tokenErrorCodes } from './token.js';

/** Every code of every family with its meaning: the registry the README documents. */
export const errorCodeRegistry: Readonly<Record<string, string>> = Object.freeze({
  ...tokenErrorCodes,
  ...configErrorCodes,
  ...storageErrorCodes,
  ...authErrorCodes,
  ...dpopErrorCodes,
  ...outboundErrorCodes,
});
