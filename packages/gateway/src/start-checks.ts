import { ConfigError, TesseraTypeError } from '@tessera/core';
import type { GatewayConfig } from './config.js';

/**
 * Refuses, with one line each, what is accepted by the schema but not built yet, and what must
 * come from outside the config file.
 */
export function refuseUnbuilt(
  config: GatewayConfig,
  options: { readonly sessionReferenceSecret?: string; readonly clientSecret?: string },
): void {
  const problems: string[] = [];
  config.routes.forEach((route, index) => {
    if (route.exchange !== undefined) {
      problems.push(
        `routes.${index} (${route.prefix}): exchange (token exchange at the edge) is not built yet`,
      );
    }
  });
  // A config the schema accepts but this version cannot run is a config error like any other.
  if (problems.length > 0) throw new ConfigError('ERR_CONFIG_INVALID', problems.join('\n'));
  if (config.routes.some((r) => r.auth === 'session')) {
    const secret = options.sessionReferenceSecret;
    if (typeof secret !== 'string' || Buffer.byteLength(secret, 'utf8') < 32) {
      throw new TesseraTypeError(
        'ERR_INVALID_OPTION',
        'session routes need the session reference secret (at least 32 bytes, e.g. TESSERA_SESSION_REFERENCE_SECRET)',
      );
    }
  }
  if (config.routes.some((r) => r.auth === 'hybrid')) {
    const secret = options.clientSecret;
    if (typeof secret !== 'string' || secret.length === 0) {
      throw new TesseraTypeError(
        'ERR_INVALID_OPTION',
        "hybrid routes need the gateway's client secret at the token service (e.g. TESSERA_GATEWAY_CLIENT_SECRET)",
      );
    }
  }
}
