import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SigningKey } from '@tessera/core';
import { createGateway, loadGatewayConfig } from '@tessera/gateway';
import { expect } from 'vitest';
import type { DevSystem } from '../../src/dev/system.js';
import { signInAtGateway } from './code-flow.js';

// What a dev system's gateway actually forwards, captured: a second gateway made from the same
// gateway.yaml, its routes pointed at a stand-in upstream that records each request's headers.
// A token taken from there is what orders would have received (docs/security.md C169, G175, G163).

type TlsFiles = { readonly ca: string; readonly cert: string; readonly key: string };

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
export async function recordingUpstream(tls?: TlsFiles): Promise<RecordingUpstream> {
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

export interface GatewayBeforeOptions {
  readonly upstreamTls?: TlsFiles;
  readonly dpopKey?: SigningKey;
}

/**
 * A second gateway from `system`'s own gateway.yaml and client secret, every route's upstream
 * replaced by `upstream`, its sessions in memory. `upstreamTls` and `dpopKey` are what the dev
 * system gives its gateway (the gateway's certificate; a DPoP key of the caller's, to prove with).
 */
export async function gatewayBefore(
  system: DevSystem,
  upstream: string,
  options: GatewayBeforeOptions = {},
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

/**
 * The headers of the one request a second gateway (see `gatewayBefore`) sent the recorder while
 * `drive` used it; with `recorderTls`, the recorder is https with that certificate (orders').
 * Both are closed before it returns: what is replayed afterwards goes to the dev system's parts.
 */
export async function capturedUpstream(
  system: DevSystem,
  options: GatewayBeforeOptions & { readonly recorderTls?: TlsFiles },
  drive: (gateway: GatewayBefore) => Promise<void>,
): Promise<IncomingHttpHeaders> {
  const recorder = await recordingUpstream(options.recorderTls);
  try {
    const gateway = await gatewayBefore(system, recorder.url, options);
    try {
      await drive(gateway);
    } finally {
      await gateway.close();
    }
    expect(recorder.received).toHaveLength(1);
    return recorder.received[0] ?? {};
  } finally {
    await recorder.close();
  }
}

/** The dev gateway's hybrid route sent `headers` (a token, no session cookie): 401 `ERR_SESSION_REQUIRED`. */
export async function expectHybridEdgeRefuses(system: DevSystem, headers: Record<string, string>) {
  const edge = await fetch(`${system.urls.gateway}/api/orders/orders`, { headers });
  expect({ status: edge.status, body: await edge.json() }).toMatchObject({
    status: 401,
    body: { error: { code: 'ERR_SESSION_REQUIRED' } },
  });
}

/**
 * What the hybrid gateway sends orders after a browser's sign-in and one `GET /api/orders/orders`,
 * from a second gateway (see `capturedUpstream`); the callback comes to it from the registered URI.
 */
export function capturedAfterHybridSignIn(
  system: DevSystem,
  options: GatewayBeforeOptions & { readonly recorderTls?: TlsFiles },
): Promise<IncomingHttpHeaders> {
  return capturedUpstream(system, options, async (gateway) => {
    const { browser } = await signInAtGateway(gateway.url, { callbackAt: gateway.url });
    expect((await browser.fetch(`${gateway.url}/api/orders/orders`)).status).toBe(200);
  });
}
