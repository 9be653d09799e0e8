import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SigningKey } from '@tessera/core';
import { createGateway, loadGatewayConfig } from '@tessera/gateway';
import type { DevSystem } from '../../src/dev/system.js';

// What a dev system's gateway actually forwards, captured: a second gateway made from the same
// gateway.yaml, its routes pointed at a stand-in upstream that records each request's headers.
// A token taken from there is what orders would have received (docs/security.md C169, G175, G163).

export interface RecordingUpstream {
  readonly url: string;
  /** The headers of each request it got, in order. */
  readonly received: IncomingHttpHeaders[];
  close(): Promise<void>;
}

/**
 * A stand-in upstream answering 200 `{}`. With `tls`, https with that server certificate, asking
 * the caller for a certificate of `ca` as the shop's services do (so the gateway presents its own).
 */
export async function recordingUpstream(tls?: {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}): Promise<RecordingUpstream> {
  const received: IncomingHttpHeaders[] = [];
  const record: RequestListener = (incoming, answer) => {
    received.push(incoming.headers);
    answer.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  };
  const server =
    tls === undefined
      ? createServer(record)
      : createHttpsServer({ ...tls, requestCert: true, rejectUnauthorized: true }, record);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface GatewayBefore {
  /** Where it listens (its sign-in comes back through the dev gateway's registered callback: see `callbackAt`). */
  readonly url: string;
  readonly app: Awaited<ReturnType<typeof createGateway>>;
  close(): Promise<void>;
}

/**
 * A second gateway from `system`'s own gateway.yaml and client secret, every route's upstream
 * replaced by `upstream`, its sessions in memory. `upstreamTls` and `dpopKey` are what the dev
 * system gives its gateway (the gateway's certificate; a DPoP key of the caller's, to prove with).
 */
export async function gatewayBefore(
  system: DevSystem,
  upstream: string,
  options: {
    readonly upstreamTls?: { readonly ca: string; readonly cert: string; readonly key: string };
    readonly dpopKey?: SigningKey;
  } = {},
): Promise<GatewayBefore> {
  const { config } = loadGatewayConfig({ file: system.files.gateway, env: {} });
  const app = await createGateway(
    {
      ...config,
      logLevel: 'silent',
      ...(config.session === undefined
        ? {}
        : { session: { ...config.session, store: { type: 'memory' as const } } }),
      routes: config.routes.map((route) => ({ ...route, upstream })),
    },
    {
      clientSecret: readFileSync(system.files.clientSecret, 'utf8').trim(),
      ...(options.upstreamTls === undefined ? {} : { upstreamTls: options.upstreamTls }),
      ...(options.dpopKey === undefined ? {} : { dpopKey: options.dpopKey }),
    },
  );
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, app, close: () => app.close() };
}
