import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/support/logs.js';
import { rawRequest } from '../../../test/support/raw-http.js';
import { RawConnection } from '../../../test/support/raw-socket.js';
import { startUpstream, type Upstream } from '../../../test/support/upstream.js';
import { createGateway } from '../src/app.js';
import { type GatewayConfigInput, parseGatewayConfig } from '../src/config.js';

const opened: { close(): Promise<unknown> }[] = [];
const connections: RawConnection[] = [];

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.destroy();
  for (const thing of opened.splice(0).reverse()) await thing.close();
});

async function start(extra: Partial<GatewayConfigInput>): Promise<{ base: string; upstream: Upstream }> {
  const upstream = await startUpstream();
  opened.push(upstream);
  const gateway: FastifyInstance = await createGateway(
    parseGatewayConfig({ routes: [{ prefix: '/', upstream: upstream.url, auth: 'public' }], ...extra }),
    { logDestination: new LogCapture() },
  );
  opened.push(gateway);
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  return { base: `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`, upstream };
}

async function open(base: string): Promise<RawConnection> {
  const connection = await RawConnection.open(base);
  connections.push(connection);
  return connection;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Headers of a POST whose body follows in parts; the connection closes after the answer. */
function head(path: string, length: number | 'chunked', extra = ''): string {
  const framing = length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`;
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n${framing}\r\n${extra}Connection: close\r\n\r\n`;
}

/** Sends one byte every `gapMs` until the connection ends or `bytes` are sent (bounded either way). */
async function trickle(connection: RawConnection, bytes: number, gapMs: number): Promise<void> {
  for (let i = 0; i < bytes && !connection.ended; i++) {
    if (!(await connection.write('a'))) return;
    await sleep(gapMs);
  }
}

describe('slow request bodies (docs/security.md F99)', () => {
  it('do not take the upstream connections: a normal request is answered while they trickle, and they get 408', async () => {
    // Four connections to the upstream, twice as many clients trickling a byte every 200 ms.
    const { base, upstream } = await start({
      upstreams: { connections: 4 },
      clients: { bodyTimeoutMs: 1_500 },
    });
    const slow = await Promise.all(Array.from({ length: 8 }, () => open(base)));
    const answeredAt = new Map<RawConnection, number>();
    const trickling = slow.map(async (connection, i) => {
      await connection.write(head(`/slow-body/${i}`, 100));
      // 25 bytes of the 100 announced, 5 s at most: never complete.
      await trickle(connection, 25, 200);
      await connection.waitFor(/^HTTP\/1\.1 \d{3}/m, 1_000);
      answeredAt.set(connection, Date.now());
      connection.destroy();
    });
    await sleep(400);

    const normal = await rawRequest(base, '/normal', { method: 'POST', body: 'hello' });
    const normalAt = Date.now();
    expect(normal.status).toBe(200);
    expect(JSON.parse(normal.text)).toMatchObject({ url: '/normal', body: 'hello' });

    await Promise.all(trickling);
    for (const connection of slow) {
      expect(connection.status).toBe(408);
      expect(JSON.parse(connection.body)).toMatchObject({ error: { code: 'ERR_HTTP_REQUEST_TIMEOUT' } });
      expect(connection.text).toMatch(/^connection: close/im);
      // The normal request was answered before any slow body reached its deadline.
      expect(normalAt).toBeLessThan(answeredAt.get(connection) as number);
    }
    // No incomplete body ever became an upstream request.
    expect(upstream.seen).toEqual(['/normal']);
  }, 15_000);

  it('bounds the requests one address has in flight: 429 too_many_requests beyond it, accepted again after', async () => {
    const { base } = await start({ upstreams: { timeoutMs: 800 }, clients: { maxInFlightPerAddress: 3 } });
    // /slow is never answered by the upstream: each holds its place until the 504.
    const held = [1, 2, 3].map(() => rawRequest(base, '/slow'));
    await sleep(200);
    const refused = await rawRequest(base, '/items');
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: 'ERR_TOO_MANY_IN_FLIGHT' } });
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers.connection).toBe('close');
    expect((await Promise.all(held)).map((a) => a.status)).toEqual([504, 504, 504]);
    expect((await rawRequest(base, '/items')).status).toBe(200);
  }, 10_000);

  it('counts a body still arriving against the bound', async () => {
    const { base } = await start({ clients: { maxInFlightPerAddress: 2, bodyTimeoutMs: 1_000 } });
    const slow = await Promise.all([open(base), open(base)]);
    for (const connection of slow) await connection.write(head('/trickle', 10));
    await sleep(200);
    expect((await rawRequest(base, '/items')).status).toBe(429);
    for (const connection of slow) await connection.closed;
    expect(slow.map((c) => c.status)).toEqual([408, 408]);
    expect((await rawRequest(base, '/items')).status).toBe(200);
  }, 10_000);
});

describe('the listener against slow clients', () => {
  it('closes a connection whose headers do not arrive in time, though it is never idle', async () => {
    const { base, upstream } = await start({ clients: { headersTimeoutMs: 600 } });
    const connection = await open(base);
    const headers = 'GET /items HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long-Header: abcdefghijklmnopqrstuvwxyz';
    // A byte every 100 ms, 3 s at most: the 600 ms bound is checked every second.
    for (let i = 0; i < 30 && !connection.ended; i++) {
      await connection.write(headers.charAt(i % headers.length));
      await sleep(100);
    }
    expect(connection.ended).toBe(true);
    expect(upstream.seen).toEqual([]);
  }, 10_000);

  it('closes a kept-alive connection left silent', async () => {
    const { base } = await start({ clients: { idleTimeoutMs: 800 }, upstreams: { timeoutMs: 500 } });
    const connection = await open(base);
    await connection.write('GET /items HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await connection.waitFor(/^HTTP\/1\.1 200/m, 2_000)).toBe(true);
    await Promise.race([connection.closed, sleep(3_000)]);
    expect(connection.ended).toBe(true);
  }, 10_000);
});

describe('bodyLimit on proxied bodies (docs/security.md F100)', () => {
  const threeMiB = 3 * 1024 * 1024;
  const part = Buffer.alloc(64 * 1024, 'b');

  it('refuses a declared length over the limit with 413 payload_too_large before reading it', async () => {
    const { base, upstream } = await start({ bodyLimit: 1_048_576 });
    const connection = await open(base);
    await connection.write(head('/upload', threeMiB));
    for (let sent = 0; sent < threeMiB && !connection.text.includes('HTTP/1.1'); sent += part.length) {
      if (!(await connection.write(part))) break;
    }
    await connection.closed;
    expect(connection.status).toBe(413);
    expect(JSON.parse(connection.body)).toMatchObject({ error: { code: 'ERR_HTTP_BODY_TOO_LARGE' } });
    expect(upstream.seen).toEqual([]);
  });

  it('counts a chunked body as it arrives: 413 once it passes the limit, never forwarded', async () => {
    const { base, upstream } = await start({ bodyLimit: 1_048_576 });
    const connection = await open(base);
    await connection.write(head('/upload', 'chunked'));
    const chunk = Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]);
    for (let sent = 0; sent < threeMiB && !connection.text.includes('HTTP/1.1'); sent += part.length) {
      if (!(await connection.write(chunk))) break;
    }
    if (!connection.ended) await connection.write('0\r\n\r\n');
    await connection.closed;
    expect(connection.status).toBe(413);
    expect(JSON.parse(connection.body)).toMatchObject({ error: { code: 'ERR_HTTP_BODY_TOO_LARGE' } });
    expect(upstream.seen).toEqual([]);
  });

  it('forwards a chunked body within the limit with its length', async () => {
    const { base } = await start({});
    const connection = await open(base);
    await connection.write(`${head('/chunked', 'chunked')}5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`);
    await connection.closed;
    expect(connection.status).toBe(200);
    const echo = JSON.parse(connection.body) as { body: string; headers: Record<string, string> };
    expect(echo.body).toBe('hello world');
    expect(echo.headers['content-length']).toBe('11');
    expect(echo.headers['transfer-encoding']).toBeUndefined();
  });
});
