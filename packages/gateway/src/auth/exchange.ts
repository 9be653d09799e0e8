import { type DpopProofSigner, discoverIssuer, metadataUrl, type OutboundRequest } from '@tessera/core';
import { createTokenExchanger, type TokenExchanger } from '@tessera/resource';
import type { RouteConfig } from '../config.js';
import { GatewayError } from '../errors.js';
import { onceUntilSuccess } from '../lib/once-until-success.js';
import { mtlsTokenEndpoint } from './mtls.js';

export interface EdgeExchangeOptions {
  /** The token service's token endpoint, found when first needed (discovery). */
  readonly tokenEndpoint: () => Promise<string>;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly timeoutMs: number;
  readonly now: () => number;
  /** The gateway's DPoP key: the exchanged tokens are bound to it (RFC 9449 5). */
  readonly dpop?: DpopProofSigner;
  /**
   * With mutual TLS (`hybrid.mtls`, `token.mtls`): the connections present the gateway's certificate, so the
   * exchanged tokens are bound to it (RFC 8705 3); `tokenEndpoint` is then the mTLS alias.
   */
  readonly dispatcher?: OutboundRequest['dispatcher'];
}

/**
 * The token endpoint of `issuer` by discovery (OpenID Connect Discovery 4), once it answers; with
 * `mtls` (`token.mtls`) its `mtls_endpoint_aliases` one, which must be https (else 503).
 */
export function discoveredTokenEndpoint(
  issuer: string,
  timeoutMs: number,
  mtls = false,
): () => Promise<string> {
  return onceUntilSuccess(async () => {
    const metadata = await discoverIssuer(issuer, { timeout: timeoutMs, maxBodyBytes: 64 * 1024 });
    return mtls ? mtlsTokenEndpoint(metadata) : metadataUrl(metadata, 'token_endpoint');
  });
}

/**
 * Token exchange at the edge (RFC 8693), for routes that say `exchange`: the token the gateway
 * would send upstream (the caller's on a token route, the session's on a hybrid route) is traded
 * for one addressed to the upstream alone, with only the scope the route names, so the upstream
 * never holds a token it could replay at other services. The gateway's client exchanges, so the
 * token must be meant for it (its `aud` names the gateway's client id). Exchanged tokens are
 * cached per (token, audience, scope) until shortly before they expire. The token endpoint is
 * found on first use, so the gateway starts while the token service is still coming up. With the
 * gateway's DPoP key every exchange carries its proof, and the token is bound to that key.
 */
export class EdgeExchange {
  readonly #client: () => Promise<TokenExchanger>;

  constructor(options: EdgeExchangeOptions) {
    const { clientId, clientSecret, timeoutMs, now, dpop, dispatcher } = options;
    this.#client = onceUntilSuccess(async () =>
      createTokenExchanger({
        tokenEndpoint: await options.tokenEndpoint(),
        clientId,
        clientSecret,
        timeout: timeoutMs,
        now,
        ...(dpop === undefined ? {} : { dpop }),
        ...(dispatcher === undefined ? {} : { dispatcher }),
      }),
    );
  }

  /** The token for the route's upstream, or throws `token_exchange_failed` (502) / `token_service_unavailable` (503). */
  async tokenFor(route: RouteConfig, subjectToken: string): Promise<string> {
    const exchange = route.exchange;
    if (exchange === undefined) return subjectToken;
    const scope = [...(exchange.scope ?? [])].sort().join(' ');
    try {
      return await (await this.#client()).exchange(subjectToken, exchange.audience, scope);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ERR_UPSTREAM_TOKEN_FAILED') {
        // The token service's own reason (its OAuth error code) is in the message, never the token.
        throw new GatewayError('ERR_TOKEN_EXCHANGE_FAILED', undefined, { expose: true, cause: error });
      }
      throw new GatewayError('ERR_TOKEN_SERVICE_UNAVAILABLE', undefined, { expose: true, cause: error });
    }
  }
}
