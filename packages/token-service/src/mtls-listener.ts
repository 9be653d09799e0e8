import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TesseraTypeError } from '@tessera/core';
import type { TokenService } from './app.js';
import { contextOf, type EndpointUrls } from './context.js';

/**
 * Node's HTTPS options for a listener that asks every client for a certificate and takes the
 * handshake whatever it sends (`rejectUnauthorized: false`): the token endpoint decides per client
 * (RFC 8705 2), and a client authenticating otherwise must not be cut off. `ca` is always given,
 * so a chain is judged against these anchors and never Node's public ones.
 */
export function mtlsServerOptions(tls: {
  readonly cert: string | Uint8Array;
  readonly key: string | Uint8Array;
  readonly clientCa: string | Uint8Array;
}) {
  return {
    cert: Buffer.from(tls.cert),
    key: Buffer.from(tls.key),
    ca: Buffer.from(tls.clientCa),
    requestCert: true,
    rejectUnauthorized: false,
  };
}

/** RFC 8705 5: the endpoints a client authenticates or presents a bound token at, on `origin`. */
export function mtlsEndpointAliases(endpoints: EndpointUrls, origin: string): Record<string, string> {
  const at = (url: string) => {
    const { pathname } = new URL(url);
    return `${origin.replace(/\/$/, '')}${pathname}`;
  };
  return {
    token_endpoint: at(endpoints.token),
    introspection_endpoint: at(endpoints.introspection),
    revocation_endpoint: at(endpoints.revocation),
    userinfo_endpoint: at(endpoints.userinfo),
    device_authorization_endpoint: at(endpoints.deviceAuthorization),
  };
}

/** The mutual-TLS listener, open. */
export interface MtlsListener {
  /** `https://host:port` it listens at. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Opens the `mtlsAliases` listener of a built service (RFC 8705 5) on `host` and `port`: every
 * request goes to the same app as the issuer's own listener, with the client certificate of its
 * TLS connection. Close it before the service.
 */
export async function listenMtlsAliases(
  service: TokenService,
  address: { readonly host: string; readonly port: number },
): Promise<MtlsListener> {
  const { mtlsAliases } = contextOf(service).options;
  if (mtlsAliases === undefined) {
    throw new TesseraTypeError(
      'ERR_INVALID_TOKEN_SERVICE_OPTIONS',
      'listenMtlsAliases needs the mtlsAliases option',
    );
  }
  await service.app.ready();
  const server: Server = createServer(mtlsServerOptions(mtlsAliases), (request, response) =>
    service.app.routing(request, response),
  );
  server.listen(address.port, address.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://${address.host}:${port}`,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
