import { TesseraTypeError } from '@tessera/core';
import type { GatewayConfig } from './config.js';

/** Refuses, with one line, a config whose secrets (which never sit in the config file) are missing. */
export function refuseMissingSecrets(
  config: GatewayConfig,
  options: { readonly sessionReferenceSecret?: string; readonly clientSecret?: string },
): void {
  if (config.routes.some((r) => r.auth === 'session')) {
    const secret = options.sessionReferenceSecret;
    if (typeof secret !== 'string' || Buffer.byteLength(secret, 'utf8') < 32) {
      throw new TesseraTypeError(
        'ERR_INVALID_OPTION',
        'session routes need the session reference secret (at least 32 bytes, e.g. TESSERA_SESSION_REFERENCE_SECRET)',
      );
    }
  }
  if (config.routes.some((r) => r.auth === 'hybrid' || r.exchange !== undefined)) {
    const secret = options.clientSecret;
    if (typeof secret !== 'string' || secret.length === 0) {
      throw new TesseraTypeError(
        'ERR_INVALID_OPTION',
        "hybrid routes and routes that exchange need the gateway's client secret at the token service (e.g. TESSERA_GATEWAY_CLIENT_SECRET)",
      );
    }
  }
}
