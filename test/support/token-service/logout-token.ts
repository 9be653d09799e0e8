import { randomBytes } from 'node:crypto';
import type { KeySet } from '@tessera/core';
import type { Client } from '@tessera/token-service';
import { json, signParts } from '../craft.js';

const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/**
 * A Logout Token (OpenID Connect Back-Channel Logout 1.0, section 2.4) as the token service signs
 * one for `client`: with the service's active key for the client's ID-token algorithm,
 * `typ: logout+jwt`, two minutes of life, no nonce. A relying party's tests use it to send the
 * logouts the token service would, and the variants it must refuse (another issuer, other keys).
 */
export function signLogoutToken(options: {
  readonly keys: KeySet;
  readonly client: Client;
  readonly issuer: string;
  readonly now: number;
  readonly sub: string;
  readonly sid: string | undefined;
}): string {
  const key = options.keys.activeKey(options.client.id_token_signed_response_alg);
  const iat = Math.floor(options.now / 1000);
  const payload: Record<string, unknown> = {
    iss: options.issuer,
    aud: options.client.client_id,
    iat,
    exp: iat + 120,
    jti: randomBytes(16).toString('base64url'),
    sub: options.sub,
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  };
  if (options.sid !== undefined) payload.sid = options.sid;
  return signParts(key, json({ alg: key.alg, typ: 'logout+jwt', kid: key.kid }), json(payload));
}
