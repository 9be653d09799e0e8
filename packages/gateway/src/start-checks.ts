import { TesseraTypeError } from '@tessera/core';
import type { ReferenceKey } from '@tessera/resource/session';
import type { GatewayConfig } from './config.js';

/** Refuses, with one line, a config whose secrets (which never sit in the config file) are missing. */
export function refuseMissingSecrets(
  config: GatewayConfig,
  options: {
    readonly sessionReferenceKeys?: Readonly<Record<string, ReferenceKey>>;
    readonly clientSecret?: string;
    readonly upstreamTls?: unknown;
  },
): void {
  for (const [setting, on] of [
    ['hybrid.mtls', config.hybrid?.mtls === true],
    ['token.mtls', config.token?.mtls === true],
  ] as const) {
    if (on && options.upstreamTls === undefined) {
      throw new TesseraTypeError(
        'ERR_INVALID_OPTION',
        `${setting} needs the gateway's client certificate (upstreamTls: ca, cert and key; tessera gateway --upstream-ca, --upstream-cert, --upstream-key)`,
      );
    }
  }
  const unkeyed = config.routes
    .filter(
      (r) => r.auth === 'session' && !Object.hasOwn(options.sessionReferenceKeys ?? {}, r.audience as string),
    )
    .map((r) => r.audience as string);
  if (unkeyed.length > 0) {
    throw new TesseraTypeError(
      'ERR_INVALID_OPTION',
      `session routes need a session reference key for each audience; none for ${[...new Set(unkeyed)].join(', ')} (e.g. TESSERA_SESSION_REFERENCE_KEYS=${unkeyed[0]}=k1:SECRET)`,
    );
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
