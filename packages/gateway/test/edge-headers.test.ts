import type { AddressInfo } from 'node:net';
import { AccessTokenSigner, KeySet } from '@tessera/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/support/logs.js';
import { rawRequest } from '../../../test/support/raw-http.js';
import { type Echo, startUpstream, type Upstream } from '../../../test/support/upstream.js';
import { createGateway } from '../src/app.js';
import { type GatewayConfigInput, parseGatewayConfig } from '../src/config.js';

const issuer = 'https://auth.test';
let upstream: Upstream;
let keys: KeySet;
let bearer: string;
const gateways: FastifyInstance[] = [];

async function gatewayAt(extra: Partial<GatewayConfigInput>): Promise<string> {
  const gateway = await createGateway(
    parseGatewayConfig({
      token: { issuer, audience: 'gateway' },
      routes: [
        { prefix: '/api', upstream: upstream.url, auth: 'token' },
        { prefix: '/', upstream: upstream.url, auth: 'public' },
      ],
      ...extra,
    }),
    { tokenKeys: keys, logDestination: new LogCapture() },
  );
  gateways.push(gateway);
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
}

let base: string;
let bare: string;

beforeAll(async () => {
  upstream = await startUpstream();
  keys = await KeySet.generate();
  bearer = new AccessTokenSigner({ keys, issuer }).issue({
    subject: 'alice',
    clientId: 'shop',
    audience: 'gateway',
    scopes: [],
  }).token;
  base = await gatewayAt({ publicOrigin: 'https://shop.example' });
  bare = await gatewayAt({});
});

afterAll(async () => {
  for (const gateway of gateways) await gateway.close();
  await upstream.close();
});

const seenBy = (text: string) => (JSON.parse(text) as Echo).headers;

describe('header hygiene at the edge (docs/security.md F103, F104)', () => {
  it('strips underscore spellings of the protected headers and the rewrite headers', async () => {
    const { status, text } = await rawRequest(base, '/items', {
      headers: {
        X_User_Id: 'admin',
        x_tessera_session: 'forged-reference',
        X_Forwarded_For: '10.0.0.1',
        X_Forwarded_Host: 'evil.example',
        x_real_ip: '10.0.0.2',
        Proxy_Authorization: 'Basic forged',
        X_Client_Cert: 'forged-cert',
        'X-Original-URL': '/admin',
        'X-Rewrite-URL': '/admin',
        'X-HTTP-Method-Override': 'DELETE',
        X_HTTP_Method_Override: 'DELETE',
        'X-Method-Override': 'DELETE',
        x_kept_header: 'yes',
      },
    });
    expect(status).toBe(200);
    const seen = seenBy(text);
    for (const name of [
      'x_user_id',
      'x_tessera_session',
      'x_forwarded_for',
      'x_forwarded_host',
      'x_real_ip',
      'proxy_authorization',
      'x_client_cert',
      'x-original-url',
      'x-rewrite-url',
      'x-http-method-override',
      'x_http_method_override',
      'x-method-override',
    ]) {
      expect(seen[name], name).toBeUndefined();
    }
    expect(seen.x_kept_header).toBe('yes');
    expect(JSON.stringify(seen)).not.toMatch(/forged|10\.0\.0|admin|DELETE|evil/);
  });

  it("sends X-Forwarded-Host from publicOrigin, never from the client's Host", async () => {
    const configured = seenBy((await rawRequest(base, '/items', { headers: { host: 'evil.example' } })).text);
    expect(configured['x-forwarded-host']).toBe('shop.example');
    const unset = seenBy((await rawRequest(bare, '/items', { headers: { host: 'evil.example' } })).text);
    expect(unset['x-forwarded-host']).toBeUndefined();
    expect(JSON.stringify(unset)).not.toContain('evil.example');
  });

  it("drops an upstream's Set-Cookie for the gateway's own cookies and keeps the others", async () => {
    const planted = {
      'set-cookie': [
        '__Host-tessera-sid=planted; Path=/; Secure; HttpOnly',
        'tessera-sid=planted; Path=/',
        '__Host-tessera-login=planted; Path=/; Secure',
        ' TESSERA-LOGIN=planted',
        'theme=dark; Path=/',
      ],
    };
    for (const path of ['/items', '/api/items']) {
      const answer = await rawRequest(base, path, {
        headers: { authorization: `Bearer ${bearer}`, 'x-echo-response-headers': JSON.stringify(planted) },
      });
      expect(answer.status, path).toBe(200);
      expect(answer.headers['set-cookie'], path).toEqual(['theme=dark; Path=/']);
    }
  });

  it('marks answers of authenticated routes private, no-store unless the upstream said otherwise', async () => {
    const auth = { authorization: `Bearer ${bearer}` };
    const token = await rawRequest(base, '/api/items', { headers: auth });
    expect(token.status).toBe(200);
    expect(token.headers['cache-control']).toBe('private, no-store');
    const own = await rawRequest(base, '/api/items', {
      headers: {
        ...auth,
        'x-echo-response-headers': JSON.stringify({ 'cache-control': 'private, max-age=60' }),
      },
    });
    expect(own.headers['cache-control']).toBe('private, max-age=60');
    const open = await rawRequest(base, '/items');
    expect(open.headers['cache-control']).toBeUndefined();
  });
});
