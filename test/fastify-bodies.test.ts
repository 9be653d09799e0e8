import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bearerProtocol, errorAnswering, KeySet } from '@tessera/core';
import { createInventoryService, tokenAuth } from '@tessera/example-shop';
import { createGateway, parseGatewayConfig } from '@tessera/gateway';
import { bearer, createVerifier } from '@tessera/resource';
import { fastifyResource } from '@tessera/resource/fastify';
import { InProcessChannel, MemoryStore } from '@tessera/storage';
import { createDatabase } from '@tessera/storage/sql';
import { openTokenService, type TokenService } from '@tessera/token-service';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawConnection } from './support/raw-socket.js';
import { freePort } from './support/redis-server.js';

// Every listener of every part gets the inputs Fastify (or Node's HTTP parser under it) refuses
// by itself, and must answer each in the part's own wire format: never Fastify's
// `{ statusCode, error, message, code: 'FST_ERR_...' }`, never a body naming the parser's code.

type Format = 'oauth' | 'json';

interface Listener {
  readonly name: string;
  readonly base: string;
  readonly format: Format;
  /** A POST route that reads JSON bodies, for the body cases; none where no route reads one. */
  readonly jsonPath?: string;
  /** Where a body over the listener's limit is sent, and that limit. */
  readonly tooLarge?: { readonly path: string; readonly limit: number };
  /** A plain node:http listener decodes no URL: a bad escape is just a path it does not serve. */
  readonly decodesUrls: boolean;
}

interface Case {
  readonly name: string;
  readonly request: string;
  readonly status: number;
  readonly code: string;
}

const dir = mkdtempSync(join(tmpdir(), 'tessera-fastify-bodies-'));
const keys = await KeySet.generate();
const SECRET = 'fastify-bodies-secret-0123456789abcdef-0123456789';
const closers: (() => Promise<unknown>)[] = [];
const listeners: Listener[] = [];

function baseOf(app: FastifyInstance): string {
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function tokenService(): Promise<void> {
  const db = await createDatabase({ dialect: 'sqlite', filename: join(dir, 'token-service.db') });
  const store = new MemoryStore();
  const channel = new InProcessChannel();
  const metricsPort = await freePort();
  const service: TokenService = await openTokenService({
    issuer: 'http://127.0.0.1:1',
    secret: SECRET,
    database: db,
    store,
    channel,
    metrics: { listen: { host: '127.0.0.1', port: metricsPort } },
  });
  await service.app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(async () => {
    await service.close();
    await store.close();
    await channel.close();
    await db.destroy();
  });
  const base = baseOf(service.app);
  listeners.push(
    {
      name: 'token service',
      base,
      format: 'oauth',
      jsonPath: '/token',
      tooLarge: { path: '/token', limit: 65_536 },
      decodesUrls: true,
    },
    {
      name: 'token service /metrics listener',
      base: `http://127.0.0.1:${metricsPort}`,
      format: 'json',
      decodesUrls: false,
    },
  );
}

async function gateway(mode: 'public' | 'token' | 'session' | 'hybrid'): Promise<void> {
  const upstream = 'http://127.0.0.1:9';
  const metricsPort = await freePort();
  const common = {
    logLevel: 'silent' as const,
    metrics: { listen: { host: '127.0.0.1', port: metricsPort } },
  };
  const session = { store: { type: 'memory' as const }, insecureHttpLocalhost: true };
  const configs = {
    public: { routes: [{ prefix: '/api', upstream, auth: 'public' as const }] },
    token: {
      token: { issuer: 'http://127.0.0.1:1', audience: 'edge' },
      routes: [{ prefix: '/api', upstream, auth: 'token' as const }],
    },
    session: {
      session,
      identity: { database: `sqlite:${join(dir, 'identity.db')}` },
      routes: [{ prefix: '/api', upstream, auth: 'session' as const, audience: 'orders' }],
    },
    hybrid: {
      session,
      hybrid: {
        issuer: 'http://127.0.0.1:1',
        clientId: 'gateway',
        redirectUri: 'http://127.0.0.1:2/auth/callback',
        scopes: ['openid'],
      },
      routes: [{ prefix: '/api', upstream, auth: 'hybrid' as const }],
    },
  };
  const app = await createGateway(parseGatewayConfig({ ...common, ...configs[mode] }), {
    tokenKeys: keys,
    clientSecret: 'gateway-client-secret-0123456789abcdef',
    sessionReferenceKeys: { orders: { id: 'k1', secret: 'k'.repeat(43) } },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => app.close());
  listeners.push(
    {
      name: `gateway (${mode} routes)`,
      base: baseOf(app),
      format: 'json',
      ...(mode === 'session' ? { jsonPath: '/auth/login' } : {}),
      tooLarge: { path: '/api/x', limit: 1_048_576 },
      decodesUrls: true,
    },
    {
      name: `gateway (${mode}) /metrics listener`,
      base: `http://127.0.0.1:${metricsPort}`,
      format: 'json',
      decodesUrls: false,
    },
  );
}

async function shop(): Promise<void> {
  const metricsPort = await freePort();
  const app = await createInventoryService({
    auth: tokenAuth({ issuer: 'http://127.0.0.1:1', keys }),
    metrics: { listen: { host: '127.0.0.1', port: metricsPort } },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => app.close());
  listeners.push(
    {
      name: 'shop inventory',
      base: baseOf(app),
      format: 'json',
      jsonPath: '/reserve',
      tooLarge: { path: '/reserve', limit: 1_048_576 },
      decodesUrls: true,
    },
    {
      name: 'shop inventory /metrics listener',
      base: `http://127.0.0.1:${metricsPort}`,
      format: 'json',
      decodesUrls: false,
    },
  );
}

/** A service of its own on the resource adapter, set up as the resource README says. */
async function resourceApp(): Promise<void> {
  const answers = errorAnswering({ protocol: bearerProtocol });
  const app = Fastify({ ...answers.serverOptions });
  app.setNotFoundHandler(answers.notFoundHandler);
  const verifier = await createVerifier({ issuer: 'http://127.0.0.1:1', audience: 'orders', keys });
  await app.register(fastifyResource, { source: bearer(verifier) });
  app.post('/orders', async () => ({ ok: true }));
  app.get('/healthz', { config: { auth: false } }, async () => ({ status: 'ok' }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => app.close());
  listeners.push({
    name: 'a service on fastifyResource',
    base: baseOf(app),
    format: 'json',
    jsonPath: '/orders',
    tooLarge: { path: '/orders', limit: 1_048_576 },
    decodesUrls: true,
  });
}

beforeAll(async () => {
  await tokenService();
  for (const mode of ['public', 'token', 'session', 'hybrid'] as const) await gateway(mode);
  await shop();
  await resourceApp();
}, 60_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  rmSync(dir, { recursive: true, force: true });
});

const head = (line: string, headers = '') =>
  `${line}\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`;

function casesFor(listener: Listener): Case[] {
  const cases: Case[] = [
    {
      name: 'a URL that is not validly percent-encoded',
      request: head('GET /%zz%zz HTTP/1.1'),
      ...(listener.decodesUrls
        ? { status: 400, code: 'ERR_HTTP_REQUEST_INVALID' }
        : { status: 404, code: 'ERR_HTTP_NOT_FOUND' }),
    },
    {
      name: 'a header value with a control character',
      request: head('GET /healthz HTTP/1.1', 'X-Bad: a\u0001b\r\n'),
      status: 400,
      code: 'ERR_HTTP_REQUEST_INVALID',
    },
    {
      name: 'headers over the parser limit',
      request: head('GET /healthz HTTP/1.1', `X-Big: ${'a'.repeat(20_000)}\r\n`),
      status: 431,
      code: 'ERR_HTTP_HEADERS_TOO_LARGE',
    },
    {
      name: 'a method HTTP does not know',
      request: head('BREW /healthz HTTP/1.1'),
      status: 400,
      code: 'ERR_HTTP_REQUEST_INVALID',
    },
    {
      name: 'a Content-Length that is no number',
      request: head('POST /healthz HTTP/1.1', 'Content-Length: ten\r\n'),
      status: 400,
      code: 'ERR_HTTP_REQUEST_INVALID',
    },
    {
      name: 'a path nothing serves',
      request: head('GET /no/such/path HTTP/1.1'),
      status: 404,
      code: 'ERR_HTTP_NOT_FOUND',
    },
  ];
  const json = listener.jsonPath;
  if (json !== undefined) {
    const post = (type: string, body: string) =>
      `POST ${json} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
    cases.push(
      {
        name: 'a JSON body that is not JSON',
        request: post('application/json', '{"a":'),
        status: 400,
        code: 'ERR_HTTP_BODY_INVALID',
      },
      {
        name: 'an empty JSON body',
        request: post('application/json', ''),
        status: 400,
        code: 'ERR_HTTP_BODY_INVALID',
      },
      {
        name: 'a content type no parser reads',
        request: post('application/x-tessera-nothing', '<a/>'),
        status: 415,
        code: 'ERR_HTTP_MEDIA_TYPE_UNSUPPORTED',
      },
    );
  }
  const large = listener.tooLarge;
  if (large !== undefined) {
    const type = listener.format === 'oauth' ? 'application/x-www-form-urlencoded' : 'application/json';
    cases.push({
      name: 'a body declared over the limit',
      request: `POST ${large.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\nContent-Length: ${large.limit + 1}\r\nConnection: close\r\n\r\n`,
      status: 413,
      code: 'ERR_HTTP_BODY_TOO_LARGE',
    });
  }
  return cases;
}

async function send(base: string, request: string): Promise<RawConnection> {
  const connection = await RawConnection.open(base);
  await connection.write(request);
  // Every case is answered and closed at once (Connection: close, or the refusal closes it).
  await connection.waitFor(/^HTTP\/1\.1 [2-5]\d\d[\s\S]*\r\n\r\n/m, 5_000);
  await Promise.race([connection.closed, new Promise((resolve) => setTimeout(resolve, 2_000))]);
  connection.destroy();
  return connection;
}

function expectOurs(listener: Listener, testCase: Case, connection: RawConnection): void {
  const where = `${listener.name}: ${testCase.name}`;
  expect(connection.status, where).toBe(testCase.status);
  const headEnd = connection.text.indexOf('\r\n\r\n');
  expect(connection.text.slice(0, headEnd), where).toMatch(/^content-type: application\/json/im);
  expect(connection.text, where).not.toMatch(/statusCode|FST_ERR|HPE_|"Bad Request"|Client Error/);
  const body = JSON.parse(connection.body) as Record<string, unknown>;
  if (listener.format === 'oauth') {
    // RFC 6749 5.2: a registered `error`, an optional description, nothing else.
    expect(
      Object.keys(body).filter((key) => key !== 'error' && key !== 'error_description'),
      where,
    ).toEqual([]);
    expect(body.error, where).toBe(testCase.status >= 500 ? 'server_error' : 'invalid_request');
    return;
  }
  expect(Object.keys(body), where).toEqual(['error']);
  const error = body.error as Record<string, unknown>;
  expect(Object.keys(error).sort(), where).toEqual(['code', 'message']);
  expect(error.code, where).toBe(testCase.code);
  expect(typeof error.message, where).toBe('string');
}

describe('what Fastify refuses by itself is answered in our shape', () => {
  it('at every listener of every part', async () => {
    expect(listeners.map((listener) => listener.name)).toHaveLength(13);
    for (const listener of listeners) {
      for (const testCase of casesFor(listener)) {
        expectOurs(listener, testCase, await send(listener.base, testCase.request));
      }
    }
  });
});
