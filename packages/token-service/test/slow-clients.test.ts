import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import { RawConnection } from '../../../test/support/raw-socket.js';
import { ORDERS_SECRET, orders } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The server `app.listen` makes, as `tessera token-service` and `tessera dev` listen it.
describe('the token service against slow clients (docs/security.md A117)', () => {
  let database: TestDatabase;
  let harness: Harness;
  let base: string;
  const connections: RawConnection[] = [];

  beforeAll(async () => {
    database = await sqlite.create();
    harness = await startService(database, {
      clients: [orders],
      bodyTimeoutMs: 600,
      headersTimeoutMs: 600,
      idleTimeoutMs: 800,
    });
    await harness.service.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(harness.service.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const connection of connections) connection.destroy();
    await harness?.stop();
    await database?.cleanup();
  });

  async function open(): Promise<RawConnection> {
    const connection = await RawConnection.open(base);
    connections.push(connection);
    return connection;
  }

  const form = `grant_type=client_credentials&client_id=orders&client_secret=${ORDERS_SECRET}`;

  it('answers a form body that trickles past its deadline 408 invalid_request, as OAuth JSON, and closes', async () => {
    const connection = await open();
    await connection.write(
      `POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\n\r\n`,
    );
    // One byte every 100 ms: the whole form would take seconds; bounded at 40 bytes either way.
    for (let i = 0; i < 40 && !connection.ended && !connection.text.includes('HTTP/1.1'); i++) {
      await connection.write(form.charAt(i));
      await sleep(100);
    }
    expect(await connection.waitFor(/^HTTP\/1\.1 408/m, 2_000)).toBe(true);
    await connection.closed;
    expect(connection.text).toMatch(/^content-type: application\/json/im);
    expect(connection.text).toMatch(/^cache-control: no-store/im);
    expect(JSON.parse(connection.body)).toEqual({
      error: 'invalid_request',
      error_description: 'the request body did not arrive in time',
    });
  });

  it('still answers a form that arrives in time', async () => {
    const response = await fetch(`${base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { token_type: string }).token_type).toBe('Bearer');
  });

  it('closes a connection whose headers do not arrive in time', async () => {
    const connection = await open();
    // A byte every 100 ms, so the connection is never idle: only the headers' bound can end it
    // (600 ms, checked every second); bounded at 3 s either way.
    const headers = 'POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long-Header: abcdefghijklmnopqrstuvwxyz';
    for (let i = 0; i < 30 && !connection.ended; i++) {
      await connection.write(headers.charAt(i % headers.length));
      await sleep(100);
    }
    expect(connection.ended).toBe(true);
  });

  it('closes a connection left silent', async () => {
    const connection = await open();
    await connection.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await connection.waitFor(/^HTTP\/1\.1 200/m, 2_000)).toBe(true);
    // Kept alive after the answer, then silent: closed by the idle bound (Node keeps an idle
    // keep-alive connection 72 s by default).
    await Promise.race([connection.closed, sleep(3_000)]);
    expect(connection.ended).toBe(true);
  });
});
