import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundError } from '../src/errors/outbound.js';
import { basicAuthorization } from '../src/http/basic-auth.js';
import { discoverIssuer, metadataUrl } from '../src/http/discovery.js';
import { fetchJsonObject, outboundRequest } from '../src/http/outbound.js';
import { redactUrl } from '../src/http/redact.js';

// A peer on 127.0.0.1, port 0, answering by path: the bounds are checked against real sockets.
let server: Server;
let base: string;
const received: { path: string; method: string; body: string; authorization?: string | undefined }[] = [];

function route(request: IncomingMessage, response: ServerResponse, body: string): void {
  const path = (request.url ?? '').split('?')[0] ?? '';
  received.push({ path, method: request.method ?? '', body, authorization: request.headers.authorization });
  switch (path) {
    case '/json':
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"a":1}');
      return;
    case '/array':
      response.writeHead(200).end('[1]');
      return;
    case '/echo':
      response.writeHead(201, { 'x-seen': request.headers['x-test'] ?? '' }).end(body);
      return;
    case '/declared-large':
      response.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000));
      return;
    case '/chunked-large':
      // No content-length: the cap must be counted as the bytes arrive.
      response.writeHead(200);
      for (let i = 0; i < 10; i++) response.write('x'.repeat(1000));
      response.end();
      return;
    case '/redirect':
      response.writeHead(302, { location: `${base}/json` }).end();
      return;
    case '/latin1':
      response.writeHead(200).end(Buffer.from([0xff, 0xfe, 0x41]));
      return;
    case '/garbage':
      response.writeHead(200).end('not json');
      return;
    case '/status':
      response.writeHead(500, { 'content-type': 'text/plain' }).end('x'.repeat(100_000));
      return;
    case '/hang':
      return; // never answers: the deadline ends it
    case '/trickle': {
      // Headers at once, then a byte every 50 ms: only the whole-exchange deadline ends it.
      response.writeHead(200);
      const timer = setInterval(() => response.write('x'), 50);
      response.on('close', () => clearInterval(timer));
      return;
    }
    case '/.well-known/openid-configuration':
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks`, token_endpoint: 'ftp://x' }));
      return;
    default:
      response.writeHead(404).end();
  }
}

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => route(request, response, Buffer.concat(chunks).toString('utf8')));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

const limits = { timeout: 300, maxBodyBytes: 4096 };

async function failure(promise: Promise<unknown>): Promise<OutboundError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OutboundError);
  return error as OutboundError;
}

describe('outboundRequest', () => {
  it('sends the method, headers and body, and reads status, headers and body', async () => {
    const answer = await outboundRequest(`${base}/echo`, {
      ...limits,
      method: 'POST',
      headers: { 'x-test': 'yes' },
      body: 'a=1',
    });
    expect([answer.status, answer.ok, answer.headers.get('x-seen'), answer.text()]).toEqual([
      201,
      true,
      'yes',
      'a=1',
    ]);
    expect(received.at(-1)).toMatchObject({ path: '/echo', method: 'POST', body: 'a=1' });
  });

  it('refuses a body declared larger than the cap before reading it', async () => {
    const error = await failure(outboundRequest(`${base}/declared-large`, limits));
    expect(error.code).toBe('ERR_OUTBOUND_TOO_LARGE');
  });

  it('refuses a body counted larger than the cap (no length declared)', async () => {
    const error = await failure(outboundRequest(`${base}/chunked-large`, limits));
    expect(error.code).toBe('ERR_OUTBOUND_TOO_LARGE');
    expect(
      (await outboundRequest(`${base}/chunked-large`, { ...limits, maxBodyBytes: 10_000 })).body,
    ).toHaveLength(10_000);
  });

  it('never follows a redirect: refused by default, answered as a status when asked', async () => {
    const before = received.filter((entry) => entry.path === '/json').length;
    const error = await failure(outboundRequest(`${base}/redirect`, limits));
    expect(error.code).toBe('ERR_OUTBOUND_REDIRECT');
    const answered = await outboundRequest(`${base}/redirect`, { ...limits, redirect: 'return' });
    expect([answered.status, answered.ok]).toEqual([302, false]);
    expect(received.filter((entry) => entry.path === '/json').length).toBe(before);
  });

  it('ends an answer that never comes, and one that trickles, at the deadline', async () => {
    for (const path of ['/hang', '/trickle']) {
      const error = await failure(outboundRequest(`${base}${path}`, limits));
      expect(error.code).toBe('ERR_OUTBOUND_TIMEOUT');
      expect(error.status).toBe(504);
    }
  });

  it('says a peer that refuses connections is unreachable', async () => {
    const error = await failure(outboundRequest('http://127.0.0.1:1/x', limits));
    expect(error.code).toBe('ERR_OUTBOUND_UNREACHABLE');
    expect(error.expose).toBe(false);
  });

  it('drops the body unread when only the status matters', async () => {
    const answer = await outboundRequest(`${base}/status`, { ...limits, maxBodyBytes: 0, discardBody: true });
    expect([answer.status, answer.body.length]).toEqual([500, 0]);
  });

  it('refuses a body that is not UTF-8 or not JSON when read as such', async () => {
    const latin1 = await outboundRequest(`${base}/latin1`, limits);
    expect(() => latin1.text()).toThrow(expect.objectContaining({ code: 'ERR_OUTBOUND_INVALID_ANSWER' }));
    const garbage = await outboundRequest(`${base}/garbage`, limits);
    expect(() => garbage.json()).toThrow(expect.objectContaining({ code: 'ERR_OUTBOUND_INVALID_ANSWER' }));
  });

  it('names the target by origin and path only: no query, no userinfo, nothing sent', async () => {
    const secretUrl = `http://user:pa55word@127.0.0.1:1/hook?token=s3cret`;
    const error = await failure(
      outboundRequest(secretUrl, { ...limits, headers: { authorization: 'Bearer t0ken' }, body: 'b0dy' }),
    );
    expect(error.message).toContain('http://127.0.0.1:1/hook');
    for (const secret of ['pa55word', 's3cret', 't0ken', 'b0dy', 'user'])
      expect(error.message).not.toContain(secret);
  });

  it('refuses a URL that is not absolute http(s) as a misuse', async () => {
    await expect(outboundRequest('/relative', limits)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(outboundRequest('file:///etc/passwd', limits)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
  });
});

describe('fetchJsonObject', () => {
  it('reads a JSON object from a 200 answer, and refuses anything else', async () => {
    expect(await fetchJsonObject(`${base}/json`, limits)).toEqual({ a: 1 });
    for (const path of ['/array', '/garbage', '/nowhere']) {
      const error = await failure(fetchJsonObject(`${base}${path}`, limits));
      expect(error.code).toBe('ERR_OUTBOUND_INVALID_ANSWER');
    }
  });
});

describe('discoverIssuer and metadataUrl', () => {
  it('checks the document names the issuer asked for, exactly', async () => {
    const metadata = await discoverIssuer(base, { timeout: 300, maxBodyBytes: 4096 });
    expect(metadataUrl(metadata, 'jwks_uri')).toBe(`${base}/jwks`);
    expect(() => metadataUrl(metadata, 'token_endpoint')).toThrow(/no http\(s\) token_endpoint/);
    // The same server asked as another issuer (a trailing slash is another issuer).
    const error = await failure(discoverIssuer(`${base}/`, { timeout: 300, maxBodyBytes: 4096 }));
    expect(error.message).toBe('the issuer metadata names another issuer');
  });
});

describe('basicAuthorization', () => {
  it('form-encodes id and secret before Base64 (RFC 6749 2.3.1)', () => {
    const header = basicAuthorization('my client', 'p:ss%/');
    expect(Buffer.from(header.replace(/^Basic /, ''), 'base64').toString()).toBe('my+client:p%3Ass%25%2F');
  });
});

describe('redactUrl', () => {
  it('replaces an access_token value and drops userinfo, leaving the rest', () => {
    expect(redactUrl('/orders?x=1&access_token=abc&y=2')).toBe('/orders?x=1&access_token=[redacted]&y=2');
    expect(redactUrl('/o?ACCESS_TOKEN=abc#f')).toBe('/o?ACCESS_TOKEN=[redacted]#f');
    expect(redactUrl('https://u:p@host.example/a?b=1')).toBe('https://host.example/a?b=1');
  });
});
