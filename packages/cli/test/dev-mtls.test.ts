import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { certificateThumbprint } from '@tessera/core';
import { createGateway, parseGatewayConfig } from '@tessera/gateway';
import { decodeJwt } from 'jose';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, signIn } from '../../../test/support/browser.js';
import { devCertificates, type PartCertificate } from '../src/dev/certificates.js';
import type { DevSystem } from '../src/dev/system.js';
import { signInAtGateway } from './support/code-flow.js';
import { startDevOnFreePorts } from './support/processes.js';
import { capturedAfterHybridSignIn, expectHybridEdgeRefuses } from './support/recording-upstream.js';

// `tessera dev --mtls` (RFC 8705), hybrid mode: every service-to-service call over mutual TLS
// with certificates of the development CA, orders' tokens bound to its certificate, and the
// trace naming the binding each hop checked. docs/security.md G158.

const SECRET = 'dev-mtls-test-secret-0123456789abcdef';

interface TraceEntry {
  service: string;
  client_id?: string;
  binding?: { kind: string; value: string };
}

let system: DevSystem;
let dir: string;
const agents: Agent[] = [];

beforeAll(async () => {
  ({ system, dir } = await startDevOnFreePorts('hybrid', SECRET, { mtls: true }));
});

afterAll(async () => {
  for (const agent of agents) await agent.close();
  await system?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function mtls(): NonNullable<DevSystem['mtls']> {
  if (system.mtls === undefined) throw new Error('the dev system runs without mutual TLS');
  return system.mtls;
}

/** An undici Agent trusting the development CA and presenting `part`'s certificate, if any. */
function agentOf(part?: PartCertificate): Agent {
  const agent = new Agent({
    connect: {
      ca: mtls().certificates.ca,
      ...(part === undefined ? {} : { cert: part.cert, key: part.key }),
    },
  });
  agents.push(agent);
  return agent;
}

const thumbprintOf = (part: PartCertificate) => certificateThumbprint(new X509Certificate(part.cert));

/** orders' own token (client_credentials at the mutual-TLS listener, authenticated by its certificate). */
async function ordersToken(audience: string): Promise<string> {
  const answer = await request(`${mtls().tokenService}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'orders', audience }).toString(),
    dispatcher: agentOf(mtls().certificates.parts.orders),
  });
  expect(answer.statusCode).toBe(200);
  return ((await answer.body.json()) as { access_token: string }).access_token;
}

describe('tessera dev --mtls (RFC 8705)', () => {
  it('keeps the development CA under the dev dir (private keys 0600), and reuses it at the next start', async () => {
    const { certificates } = mtls();
    expect(certificates.dir).toBe(join(dir, 'mtls'));
    expect(statSync(join(certificates.dir, 'orders-key.pem')).mode & 0o777).toBe(0o600);
    const again = await devCertificates(dir);
    expect(again.ca).toBe(certificates.ca);
    const orders = new X509Certificate(certificates.parts.orders.cert);
    expect(orders.subject).toBe('CN=orders');
    expect(orders.verify(new X509Certificate(certificates.ca).publicKey)).toBe(true);
  });

  it("C168: places an order: orders checked the gateway's x5t#S256, inventory and payments orders'", async () => {
    const { browser } = await signInAtGateway(system.urls.gateway);
    const me = (await (await browser.fetch(`${system.urls.gateway}/auth/me`)).json()) as {
      csrf_token: string;
    };
    const response = await browser.fetch(`${system.urls.gateway}/api/orders/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token },
      body: JSON.stringify({ item: 'tessera-red', quantity: 1 }),
    });
    expect(response.status).toBe(201);
    const { trace } = (await response.json()) as { trace: TraceEntry[] };
    const bound = { kind: 'x5t#S256', value: thumbprintOf(mtls().certificates.parts.orders) };
    expect(trace.map((entry) => [entry.service, entry.binding])).toEqual([
      // The session's token, bound to the gateway's certificate (hybrid.mtls), over its connection.
      ['orders', { kind: 'x5t#S256', value: thumbprintOf(mtls().certificates.parts.gateway) }],
      ['inventory', bound],
      ['payments', bound],
    ]);
  });

  it("a token of orders, replayed at inventory over the gateway's certificate: 401 invalid_token", async () => {
    const token = await ordersToken('inventory');
    const { parts } = mtls().certificates;
    const replayed = await request(`${system.urls.inventory}/items`, {
      headers: { authorization: `Bearer ${token}` },
      dispatcher: agentOf(parts.gateway),
    });
    expect(replayed.statusCode).toBe(401);
    expect(replayed.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    expect(await replayed.body.json()).toMatchObject({ error: { code: 'ERR_MTLS_CERTIFICATE_MISMATCH' } });
    // From orders' own connection the binding holds (and the route's policy decides).
    const own = await request(`${system.urls.inventory}/items`, {
      headers: { authorization: `Bearer ${token}` },
      dispatcher: agentOf(parts.orders),
    });
    expect(own.statusCode).not.toBe(401);
    await own.body.dump();
  });

  it('a service takes no connection without a certificate of the development CA', async () => {
    await expect(request(`${system.urls.inventory}/items`, { dispatcher: agentOf() })).rejects.toThrow();
  });

  it("C168: hybrid.mtls without the gateway's certificate is refused at start, and beside hybrid.dpop in the config", async () => {
    const hybrid = {
      issuer: system.urls.tokenService,
      clientId: 'gateway',
      redirectUri: `${system.urls.gateway}/auth/callback`,
      scopes: ['openid'],
      mtls: true,
    };
    const base: Omit<Parameters<typeof parseGatewayConfig>[0], 'hybrid'> = {
      logLevel: 'silent',
      session: { store: { type: 'memory' }, insecureHttpLocalhost: true },
      routes: [{ prefix: '/api', upstream: system.urls.orders, auth: 'hybrid' }],
    };
    await expect(
      createGateway(parseGatewayConfig({ ...base, hybrid }), { clientSecret: SECRET }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', message: expect.stringMatching(/upstreamTls/) });
    expect(() => parseGatewayConfig({ ...base, hybrid: { ...hybrid, dpop: true } })).toThrow(/hybrid\.mtls/);
  });

  it("C169: a token bound to the gateway's certificate (what it sends orders), replayed at orders, inventory and payments over another certificate, or at the edge: 401", async () => {
    // The gateway's session token as it takes it: the code flow as the gateway's client, redeemed
    // at the token service's mutual-TLS listener over the gateway's certificate.
    const verifier = randomBytes(32).toString('base64url');
    const redirectUri = `${system.urls.gateway}/auth/callback`;
    const authorize = new URL(`${system.urls.tokenService}/authorize`);
    authorize.search = new URLSearchParams({
      client_id: 'gateway',
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid orders:read',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state: 'st',
      nonce: 'n',
    }).toString();
    const { location } = await signIn(new Browser(), authorize, 'alice', 'alice-password');
    const secret = readFileSync(system.files.clientSecret, 'utf8').trim();
    const { parts } = mtls().certificates;
    const redeemed = await request(`${mtls().tokenService}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`gateway:${secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: location.searchParams.get('code') as string,
        code_verifier: verifier,
        redirect_uri: redirectUri,
      }).toString(),
      dispatcher: agentOf(parts.gateway),
    });
    expect(redeemed.statusCode).toBe(200);
    const token = ((await redeemed.body.json()) as { access_token: string }).access_token;
    const call = (url: string, part?: PartCertificate) =>
      request(url, {
        method: url.endsWith('/charge') ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(url.endsWith('/charge') ? { body: '{}' } : {}),
        dispatcher: agentOf(part),
      });
    // Its holder's connection: the binding holds (the route's policy decides the rest).
    const own = await call(`${system.urls.orders}/orders`, parts.gateway);
    expect(own.statusCode).not.toBe(401);
    await own.body.dump();
    for (const [url, part] of [
      [`${system.urls.orders}/orders`, parts.orders],
      [`${system.urls.inventory}/items`, parts.orders],
      [`${system.urls.inventory}/items`, parts.payments],
      [`${system.urls.payments}/charge`, parts.orders],
      [`${system.urls.payments}/charge`, parts.gateway],
    ] as const) {
      const replayed = await call(url, part);
      expect(replayed.statusCode).toBe(401);
      expect(replayed.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
      await replayed.body.dump();
    }
    // At the edge, with no certificate at all (the browser's side): a hybrid route takes no token.
    const edge = await fetch(`${system.urls.gateway}/api/orders/orders`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(edge.status).toBe(401);
  });

  it("C169: the token orders received (captured behind a second gateway), replayed at orders over orders' or payments' certificate, at inventory, at payments, or at the edge: 401", async () => {
    const { parts, ca } = mtls().certificates;
    // What the hybrid gateway sends orders, recorded by a stand-in with orders' own server
    // certificate (asking for the caller's, as orders does) behind a second gateway made from the
    // same gateway.yaml, after a browser's sign-in.
    const seen = await capturedAfterHybridSignIn(system, {
      recorderTls: { ca, ...parts.orders },
      upstreamTls: { ca, ...parts.gateway },
    });
    const captured = (seen.authorization ?? '').replace(/^Bearer /, '');
    expect(decodeJwt(captured)).toMatchObject({
      client_id: 'gateway',
      cnf: { 'x5t#S256': thumbprintOf(parts.gateway) },
    });
    const replay = async (url: string, part: PartCertificate) => {
      const charge = url.endsWith('/charge');
      const answer = await request(url, {
        method: charge ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${captured}`, 'content-type': 'application/json' },
        ...(charge ? { body: '{}' } : {}),
        dispatcher: agentOf(part),
      });
      const body = (await answer.body.json()) as { error?: { code?: string } };
      // The challenge's error (RFC 6750 3), the description aside.
      const challenge = /^Bearer error="([^"]+)"/.exec(String(answer.headers['www-authenticate']))?.[1];
      return { status: answer.statusCode, challenge, code: body.error?.code };
    };
    // Over its holder's connection the binding holds: what is refused below is the replay.
    expect((await replay(`${system.urls.orders}/orders`, parts.gateway)).status).toBe(200);
    // Over another certificate than the gateway's, orders and inventory (both audiences of the
    // session's token) refuse the binding; payments refuses the audience first: the gateway
    // reaches orders and inventory only.
    const mismatch = { status: 401, challenge: 'invalid_token', code: 'ERR_MTLS_CERTIFICATE_MISMATCH' };
    const audience = { status: 401, challenge: 'invalid_token', code: 'ERR_JWT_AUDIENCE_INVALID' };
    const refusals = [
      ["orders over orders' certificate", `${system.urls.orders}/orders`, parts.orders, mismatch],
      ["orders over payments' certificate", `${system.urls.orders}/orders`, parts.payments, mismatch],
      ["inventory over orders' certificate", `${system.urls.inventory}/items`, parts.orders, mismatch],
      ["inventory over payments' certificate", `${system.urls.inventory}/items`, parts.payments, mismatch],
      ["payments over orders' certificate", `${system.urls.payments}/charge`, parts.orders, audience],
      ["payments over the gateway's certificate", `${system.urls.payments}/charge`, parts.gateway, audience],
    ] as const;
    const answers = [];
    for (const [at, url, part] of refusals) answers.push({ at, ...(await replay(url, part)) });
    expect(answers).toEqual(refusals.map(([at, , , refused]) => ({ at, ...refused })));
    // At the edge, with no certificate (the browser's side): a hybrid route takes a session, no token.
    await expectHybridEdgeRefuses(system, { authorization: `Bearer ${captured}` });
  });
});
