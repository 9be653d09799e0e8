import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the echo upstream saw of one request. */
export interface Echo {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface Upstream {
  readonly url: string;
  /** The request target of every request that reached it, in order of arrival. */
  readonly seen: readonly string[];
  close(): Promise<void>;
}

/**
 * A tiny upstream on 127.0.0.1:0 answering what it received as JSON. `/slow` never answers (until
 * closed), for the timeout; every response carries hop-by-hop headers the gateway must drop, and
 * the headers a request asks for in `x-echo-response-headers` (JSON).
 */
export async function startUpstream(): Promise<Upstream> {
  const seen: string[] = [];
  const server: Server = createServer((request, response) => {
    seen.push(request.url ?? '');
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url?.endsWith('/slow')) return;
      const echo: Echo = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      // A test asks for response headers of its own (Set-Cookie, Cache-Control) as JSON.
      const asked = request.headers['x-echo-response-headers'];
      response.writeHead(200, {
        'content-type': 'application/json',
        'keep-alive': 'timeout=5',
        'x-upstream-secret': 'named-by-connection',
        connection: 'keep-alive, x-upstream-secret',
        ...(typeof asked === 'string' ? (JSON.parse(asked) as Record<string, string | string[]>) : {}),
      });
      response.end(JSON.stringify(echo));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: bound, read and released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
