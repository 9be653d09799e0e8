import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { RawConnection } from '../../../test/support/raw-socket.js';
import {
  AuthError,
  answerFor,
  bearerProtocol,
  HttpError,
  type MetricsListener,
  metricsRefusal,
  StorageError,
  startMetricsListener,
  TesseraTypeError,
  TokenError,
  toTesseraError,
} from '../src/index.js';

/** An error shaped as the token service's OAuthError is: a registered `error` and a description. */
class ProtocolError extends AuthError {
  readonly oauthError = 'invalid_grant';
  readonly description: string | undefined;
  constructor(description?: string) {
    super('ERR_AUTH_INVALID_REQUEST', description ?? 'invalid_grant');
    this.description = description;
  }
}

describe('answerFor: json', () => {
  it('answers an error of the hierarchy with its status, code and exposable message, never cached', () => {
    const answer = answerFor(new HttpError('ERR_HTTP_NOT_FOUND', 'no such item'));
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ error: { code: 'ERR_HTTP_NOT_FOUND', message: 'no such item' } });
    expect(answer.headers).toEqual({
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
    });
  });

  it('answers anything else as a bare 500 and keeps the detail for the log only', () => {
    const cause = new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2');
    const answer = answerFor(cause);
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ error: { code: 'ERR_INTERNAL', message: 'internal error' } });
    expect(JSON.stringify(answer.body)).not.toContain('hunter2');
    expect(answer.error.cause).toBe(cause);
    // A misuse that reaches an answer is a bug, not the client's fault.
    expect(answerFor(new TesseraTypeError('ERR_INVALID_USE', 'no adapter')).status).toBe(500);
    expect(answerFor('a string').body).toEqual({
      error: { code: 'ERR_INTERNAL', message: 'internal error' },
    });
    expect(answerFor(null).status).toBe(500);
  });

  it('hides the message of a server error, keeps its code, and asks a 503 to retry', () => {
    const answer = answerFor(new StorageError('ERR_STORAGE_UNAVAILABLE', 'redis at 10.0.0.3 is down'));
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({
      error: { code: 'ERR_STORAGE_UNAVAILABLE', message: 'temporarily unavailable' },
    });
    expect(answer.headers['retry-after']).toBe('5');
  });

  it('carries the headers the error names, which win over the defaults', () => {
    const answer = answerFor(
      new HttpError('ERR_HTTP_METHOD_NOT_ALLOWED', 'use GET', { headers: { allow: 'GET, HEAD' } }),
    );
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, HEAD');
    expect(answerFor(new HttpError('ERR_HTTP_BODY_TOO_LARGE')).headers.connection).toBe('close');
  });

  it('translates what Fastify and the HTTP parser refuse into our codes, with our message', () => {
    const fastify = (code: string, statusCode: number, message: string) =>
      Object.assign(new Error(message), { code, statusCode });
    const cases: [unknown, string, number][] = [
      [
        fastify('FST_ERR_CTP_BODY_TOO_LARGE', 413, 'Request body is too large'),
        'ERR_HTTP_BODY_TOO_LARGE',
        413,
      ],
      [
        fastify('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'Unsupported Media Type: x/y'),
        'ERR_HTTP_MEDIA_TYPE_UNSUPPORTED',
        415,
      ],
      [
        fastify('FST_ERR_CTP_INVALID_JSON_BODY', 400, "Unexpected token '<secret>'"),
        'ERR_HTTP_BODY_INVALID',
        400,
      ],
      [fastify('FST_ERR_CTP_EMPTY_JSON_BODY', 400, 'empty'), 'ERR_HTTP_BODY_INVALID', 400],
      [
        fastify('FST_ERR_BAD_URL', 400, "'/%zz?token=<secret>' is not a valid url component"),
        'ERR_HTTP_REQUEST_INVALID',
        400,
      ],
      [fastify('FST_ERR_MAX_PARAM_LENGTH', 414, 'too long'), 'ERR_HTTP_URI_TOO_LONG', 414],
      [fastify('HPE_HEADER_OVERFLOW', 431, 'overflow'), 'ERR_HTTP_HEADERS_TOO_LARGE', 431],
      [
        fastify('HPE_INVALID_HEADER_TOKEN', 400, 'Invalid header value char <secret>'),
        'ERR_HTTP_REQUEST_INVALID',
        400,
      ],
      [
        Object.assign(new SyntaxError('Unexpected <secret>'), { statusCode: 400 }),
        'ERR_HTTP_REQUEST_INVALID',
        400,
      ],
      [fastify('FST_ERR_SOMETHING_ELSE', 500, 'a bug'), 'ERR_INTERNAL', 500],
    ];
    for (const [error, code, status] of cases) {
      const answer = answerFor(error);
      expect(answer.body.error.code, code).toBe(code);
      expect(answer.status, code).toBe(status);
      expect(JSON.stringify(answer.body)).not.toMatch(/secret|FST_|statusCode/);
      expect(toTesseraError(error).cause).toBe(error);
    }
  });
});

describe('answerFor: bearer (RFC 6750 3)', () => {
  it('challenges a request without credentials with no error code', () => {
    const answer = answerFor(new AuthError('ERR_AUTH_REQUIRED', 'no credentials'), bearerProtocol);
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('Bearer');
    expect(answer.body).toEqual({ error: { code: 'ERR_AUTH_REQUIRED', message: 'no credentials' } });
  });

  it('names invalid_token for a refused token, with its realm and a description stripped to the RFC charset', () => {
    const answer = answerFor(new TokenError('ERR_JWT_EXPIRED', 'the token "expired"\n'), {
      scheme: 'Bearer',
      realm: 'tessera',
    });
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe(
      'Bearer realm="tessera", error="invalid_token", error_description="the token expired"',
    );
    expect(answer.body.error.code).toBe('ERR_JWT_EXPIRED');
  });

  it('names invalid_request and insufficient_scope with the scope the error asks for', () => {
    expect(
      answerFor(new AuthError('ERR_AUTH_INVALID_REQUEST', 'two headers'), bearerProtocol).headers[
        'www-authenticate'
      ],
    ).toBe('Bearer error="invalid_request", error_description="two headers"');
    const scope = answerFor(
      new AuthError('ERR_AUTH_INSUFFICIENT_SCOPE', 'needs orders:write', {
        scope: ['orders:write', 'openid'],
      }),
      { scheme: 'TesseraSession' },
    );
    expect(scope.status).toBe(403);
    expect(scope.headers['www-authenticate']).toBe(
      'TesseraSession error="insufficient_scope", error_description="needs orders:write", scope="orders:write openid"',
    );
  });

  it('sends no challenge for what is not a refused credential', () => {
    const outage = answerFor(
      new TokenError('ERR_JWKS_FETCH_FAILED', 'fetch https://issuer/jwks failed'),
      bearerProtocol,
    );
    expect(outage.status).toBe(503);
    expect(outage.headers['www-authenticate']).toBeUndefined();
    expect(outage.body.error.message).toBe('temporarily unavailable');
    expect(answerFor(new Error('boom'), bearerProtocol).headers['www-authenticate']).toBeUndefined();
  });

  it('answers /metrics without its token with the realm and no error code', () => {
    const answer = metricsRefusal();
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(answer.body.error.code).toBe('ERR_METRICS_UNAUTHORIZED');
  });
});

describe('answerFor: oauth (RFC 6749 5.2)', () => {
  it('answers a protocol error with its registered value and description, never cached', () => {
    const answer = answerFor(new ProtocolError('the code was already used'), 'oauth');
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: 'invalid_grant', error_description: 'the code was already used' });
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers.pragma).toBe('no-cache');
    expect(answerFor(new ProtocolError(), 'oauth').body).toEqual({ error: 'invalid_grant' });
  });

  it('maps other errors onto registered values by status, keeping the status', () => {
    const notFound = answerFor(new HttpError('ERR_HTTP_NOT_FOUND', 'no such endpoint'), 'oauth');
    expect(notFound.status).toBe(404);
    expect(notFound.body).toEqual({ error: 'invalid_request', error_description: 'no such endpoint' });
    const outage = answerFor(new StorageError('ERR_STORAGE_UNAVAILABLE', 'redis down'), 'oauth');
    expect(outage.status).toBe(503);
    expect(outage.body).toEqual({ error: 'temporarily_unavailable' });
    expect(answerFor(new Error('boom'), 'oauth').body).toEqual({ error: 'server_error' });
    const tooLarge = answerFor(
      Object.assign(new Error('x'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE' }),
      'oauth',
    );
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error).toBe('invalid_request');
  });

  it('challenges invalid_client answered 401 with Basic', () => {
    const invalidClient = Object.assign(new AuthError('ERR_AUTH_REQUIRED', 'client authentication failed'), {
      oauthError: 'invalid_client',
      description: 'client authentication failed',
    });
    const answer = answerFor(invalidClient, 'oauth');
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('Basic realm="tessera", charset="UTF-8"');
  });
});

describe('the metrics listener', () => {
  let listener: MetricsListener | undefined;
  afterEach(async () => {
    await listener?.close();
    listener = undefined;
  });

  it('answers anything but GET /metrics, and what the HTTP parser refuses, in the one JSON shape', async () => {
    listener = await startMetricsListener(
      { host: '127.0.0.1', port: 0 },
      { contentType: 'text/plain', metrics: async () => 'up 1\n' },
    );
    const base = `http://127.0.0.1:${listener.port}`;
    const other = await fetch(`${base}/other`);
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await other.json()).toEqual({
      error: { code: 'ERR_HTTP_NOT_FOUND', message: 'only GET /metrics is served here' },
    });

    const raw = await RawConnection.open(base);
    await raw.write('GET /metrics HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n');
    await raw.closed;
    expect(raw.status).toBe(400);
    expect(JSON.parse(raw.body)).toEqual({
      error: { code: 'ERR_HTTP_REQUEST_INVALID', message: 'the request is not valid HTTP' },
    });
  });

  it('answers a failing registry with a bare 500', async () => {
    listener = await startMetricsListener(
      { host: '127.0.0.1', port: 0 },
      {
        contentType: 'text/plain',
        metrics: async () => {
          throw new Error('collector at /var/run/secret failed');
        },
      },
    );
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      request(`http://127.0.0.1:${listener?.port}/metrics`, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      })
        .on('error', reject)
        .end();
    });
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.text)).toEqual({ error: { code: 'ERR_INTERNAL', message: 'internal error' } });
  });
});
