import type { GrantType } from '../../../store/client.js';
import type { GrantHandler } from '../types.js';
import { authorizationCodeGrant } from './authorization-code.js';
import { clientCredentialsGrant } from './client-credentials.js';
import { deviceCodeGrant } from './device-code.js';
import { refreshTokenGrant } from './refresh-token.js';
import { tokenExchangeGrant } from './token-exchange.js';

/**
 * The grants /token dispatches to, one file each. A grant type a client may register but that is
 * not in this map is answered unsupported_grant_type; discovery advertises exactly these keys.
 */
export const grantHandlers: ReadonlyMap<GrantType, GrantHandler> = new Map<GrantType, GrantHandler>([
  ['authorization_code', authorizationCodeGrant],
  ['refresh_token', refreshTokenGrant],
  ['client_credentials', clientCredentialsGrant],
  ['urn:ietf:params:oauth:grant-type:token-exchange', tokenExchangeGrant],
  ['urn:ietf:params:oauth:grant-type:device_code', deviceCodeGrant],
]);
