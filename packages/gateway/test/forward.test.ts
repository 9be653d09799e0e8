import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/eventually.js';
import { LogCapture } from '../../../test/support/logs.js';
import { rawRequest } from '../../../test/support/raw-http.js';
import { RawConnection } from '../../../test/support/raw-socket.js';
import { createGateway } from '../src/app.js';
import { parseGatewayConfig } from '../src/config.js';
import { withOwnHeaders } from '../src/proxy/headers.js';

// An upstream with the answers a proxy core must carry: a body streamed in parts, a 503, an
// answer cut short, and one that never comes (whose connection the test watches).
const seen: string[] = [];
let slowClosed = 0;
let releaseStream: (() => void) | undefined;
const part = Buffer.alloc(256 * 1024, 'p');
const streamParts = 16;

function answer(request: IncomingMessage, response: ServerResponse): void {
  seen.push(request.url ?? '');
  if (request.url === '/stream') {
    // The first part, then the rest only once the client has it: a proxy that buffered the whole
    // answer would never pass the first part on.
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    response.write(part);
    releaseStream = () => {
      for (let i = 1; i < streamParts; i++) response.write(part);
      response.end();
    };
    return;
  }
  if (request.url === '/unavailable') {
    response.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '0' });
    response.end('busy');
    return;
  }
  if (request.url === '/cut') {
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
    response.write('only ten b');
    setTimeout(() => response.socket?.destroy(), 50);
    return;
  }
  if (request.url === '/slow') {
    request.socket.once('close', () => {
      slowClosed += 1;
    });
    return;
  }
  response.writeHead(200, { 'content-type': 'text/plain' });
  response.end('ok');
}

let upstream: Server;
let gateway: FastifyInstance;
let base: string;

beforeAll(async () => {
  upstream = createServer(answer);
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const { port } = upstream.address() as AddressInfo;
  gateway = await createGateway(
    parseGatewayConfig({
      // One connection to the upstream: a request that held it would hold up every other one.
      upstreams: { connections: 1 },
      routes: [{ prefix: '/', upstream: `http://127.0.0.1:${port}`, auth: 'public' }],
    }),
    { logDestination: new LogCapture() },
  );
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await gateway.close();
  upstream.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

describe('the proxy core', () => {
  it('streams an answer on as it arrives, every byte of it', async () => {
    const connection = await RawConnection.open(base);
    try {
      await connection.write('GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      // The first part reached the client while the upstream still holds back the rest.
      expect(await connection.waitFor(/p{1024}/, 5_000)).toBe(true);
      releaseStream?.();
      await connection.closed;
      expect(connection.status).toBe(200);
      const expected = createHash('sha256')
        .update(Buffer.concat(Array.from({ length: streamParts }, () => part)))
        .digest('hex');
      expect(createHash('sha256').update(connection.body, 'latin1').digest('hex')).toBe(expected);
    } finally {
      connection.destroy();
    }
  });

  it('F165: passes an upstream 503 on once: a request is never sent twice', async () => {
    const before = seen.length;
    const busy = await rawRequest(base, '/unavailable');
    expect(busy.status).toBe(503);
    expect(busy.text).toBe('busy');
    expect(seen.slice(before)).toEqual(['/unavailable']);
  });

  it('F165: cuts the connection of an answer the upstream cuts, instead of passing it on as whole', async () => {
    const connection = await RawConnection.open(base);
    try {
      await connection.write('GET /cut HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await connection.closed;
      expect(connection.status).toBe(200);
      expect(connection.body).toBe('only ten b');
    } finally {
      connection.destroy();
    }
  });

  it('F165: gives the upstream connection back when the client leaves before the answer', async () => {
    const connection = await RawConnection.open(base);
    await connection.write('GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await eventually(() => expect(seen).toContain('/slow'));
    connection.destroy();
    // The upstream request is aborted: its connection closes long before the 30 s timeout ...
    await eventually(() => expect(slowClosed).toBe(1));
    // ... and the pool's one connection serves the next request.
    const next = await rawRequest(base, '/after');
    expect(next.status).toBe(200);
    expect(next.text).toBe('ok');
  });

  it('F164: refuses dot segments behind encoded separators and backslashes, and sends them nowhere', async () => {
    const before = seen.length;
    for (const path of ['/a/..%2fadmin', '/a%2f..%2fadmin', '/a/%2e%2e%5cadmin', '/a/..\\admin']) {
      const refused = await rawRequest(base, path);
      expect(refused.status, path).toBe(400);
      expect(JSON.parse(refused.text), path).toMatchObject({ error: { code: 'ERR_HTTP_REQUEST_INVALID' } });
    }
    expect(seen.slice(before)).toEqual([]);
    // Dots inside a segment are a name like any other.
    expect((await rawRequest(base, '/docs/[...slug]/a..b')).status).toBe(200);
  });

  it("F164: sends the query on as it came: dots and percent signs in it are the upstream's to read", async () => {
    for (const path of ['/search?q=../x', '/search?q=%zz', '/search?path=a%2f..%2fb']) {
      const before = seen.length;
      const answer = await rawRequest(base, path);
      expect(answer.status, path).toBe(200);
      expect(seen.slice(before), path).toEqual([path]);
    }
  });
});

describe('withOwnHeaders', () => {
  it("keeps the gateway's Set-Cookie before the upstream's, and the upstream's value of any other header", () => {
    expect(
      withOwnHeaders(
        { 'set-cookie': '__Host-tessera-sid=renewed', 'cache-control': 'no-store', 'x-own': '1' },
        { 'set-cookie': ['theme=dark'], 'cache-control': 'max-age=60' },
      ),
    ).toEqual({
      'set-cookie': ['__Host-tessera-sid=renewed', 'theme=dark'],
      'cache-control': 'max-age=60',
      'x-own': '1',
    });
    const upstreamOnly = { 'content-type': 'text/plain' };
    expect(withOwnHeaders({}, upstreamOnly)).toBe(upstreamOnly);
  });
});
