import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { certificateThumbprint } from '@tessera/core';
import { createGateway, parseGatewayConfig } from '@tessera/gateway';
import { decodeJwt } from 'jose';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import type { PartCertificate } from '../src/dev/certificates.js';
import type { DevSystem } from '../src/dev/system.js';
import { codeFlowToken } from './support/code-flow.js';
import { bin, devSystemForSuite } from './support/processes.js';
import { capturedUpstream } from './support/recording-upstream.js';

// `tessera dev --mtls --mode token` (RFC 8705, gateway token.mtls): the user's token is never
// forwarded; the gateway exchanges it at the token service's mutual-TLS listener for one bound to
// its own certificate, and every service takes certificate-bound tokens only.
// docs/security.md G171, G172, G173, G175.

const SECRET = 'dev-mtls-token-test-secret-0123456789abcdef';
const json = { 'content-type': 'application/json' };

interface TraceEntry {
  readonly service: string;
  readonly client_id?: string;
  readonly binding?: { readonly kind: string; readonly value: string };
}

const running = devSystemForSuite('token', SECRET, { mtls: true });
const agents: Agent[] = [];
afterAll(async () => {
  for (const agent of agents) await agent.close();
});

function mtls(): NonNullable<DevSystem['mtls']> {
  const value = running.system.mtls;
  if (value === undefined) throw new Error('the dev system runs without mutual TLS');
  return value;
}

function agentOf(part: PartCertificate): Agent {
  const agent = new Agent({ connect: { ca: mtls().certificates.ca, cert: part.cert, key: part.key } });
  agents.push(agent);
  return agent;
}

const thumbprintOf = (part: PartCertificate) => certificateThumbprint(new X509Certificate(part.cert));
const userToken = () => codeFlowToken(running.system.urls.tokenService, 'alice');

describe('tessera dev --mtls --mode token', () => {
  it('G171: writes token.mtls and an exchange on every route into gateway.yaml', () => {
    const yaml = readFileSync(running.system.files.gateway, 'utf8');
    expect(yaml).toMatch(/mtls: true/);
    expect(yaml.match(/exchange:/g)?.length).toBe(2);
  });

  it("G171: places an order with the user's bearer token: x5t#S256 at every hop, the gateway's at orders", async () => {
    const token = await userToken();
    expect(decodeJwt(token).cnf).toBeUndefined();
    const response = await fetch(`${running.system.urls.gateway}/api/orders/orders`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${token}` },
      body: JSON.stringify({ item: 'tessera-red', quantity: 1 }),
    });
    expect(response.status).toBe(201);
    const { trace } = (await response.json()) as { trace: TraceEntry[] };
    const { parts } = mtls().certificates;
    const byOrders = { kind: 'x5t#S256', value: thumbprintOf(parts.orders) };
    expect(trace.map((entry) => [entry.service, entry.binding])).toEqual([
      ['orders', { kind: 'x5t#S256', value: thumbprintOf(parts.gateway) }],
      ['inventory', byOrders],
      ['payments', byOrders],
    ]);
    // orders got the exchanged token (the gateway acting), not the user's.
    expect(trace[0]).toMatchObject({ client_id: 'gateway' });
  });

  it("G172: the caller's token replayed at orders and inventory, over any certificate: 401 ERR_MTLS_TOKEN_NOT_BOUND", async () => {
    const token = await userToken();
    const { parts } = mtls().certificates;
    for (const [url, part] of [
      [`${running.system.urls.orders}/orders`, parts.gateway],
      [`${running.system.urls.orders}/orders`, parts.orders],
      [`${running.system.urls.inventory}/items`, parts.orders],
      [`${running.system.urls.inventory}/items`, parts.gateway],
    ] as const) {
      const replayed = await request(url, {
        headers: { authorization: `Bearer ${token}` },
        dispatcher: agentOf(part),
      });
      expect(replayed.statusCode).toBe(401);
      expect(replayed.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
      expect(await replayed.body.json()).toMatchObject({ error: { code: 'ERR_MTLS_TOKEN_NOT_BOUND' } });
    }
  });

  it('G173: token.mtls is refused beside token.dpop, without an exchange on a token route, and without upstreamTls', async () => {
    const { urls } = running.system;
    const token = { issuer: urls.tokenService, audience: 'gateway', clientId: 'gateway', mtls: true };
    const route = { prefix: '/api', upstream: urls.orders, auth: 'token' as const };
    const exchange = { audience: 'orders' };
    expect(() =>
      parseGatewayConfig({
        publicOrigin: urls.gateway,
        token: { ...token, dpop: {} },
        routes: [{ ...route, exchange }],
      }),
    ).toThrow(/token\.mtls: not with token\.dpop/);
    expect(() => parseGatewayConfig({ token, routes: [route] })).toThrow(/required with token\.mtls/);
    await expect(
      createGateway(parseGatewayConfig({ logLevel: 'silent', token, routes: [{ ...route, exchange }] }), {
        clientSecret: SECRET,
      }),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: expect.stringMatching(/^token\.mtls needs/),
    });
  });

  it("G175: the token orders received (captured by a recording TLS upstream), replayed at orders and inventory over orders' certificate, or at the edge: 401", async () => {
    const { system } = running;
    const { parts, ca } = mtls().certificates;
    // A stand-in for orders that records what the gateway sends it (orders' own server certificate,
    // asking for the caller's as orders does), behind a second gateway from the same gateway.yaml.
    const user = await userToken();
    const seen = await capturedUpstream(
      system,
      { recorderTls: { ca, ...parts.orders }, upstreamTls: { ca, ...parts.gateway } },
      async (gateway) => {
        const through = await gateway.app.inject({
          method: 'GET',
          url: '/api/orders/orders',
          headers: { authorization: `Bearer ${user}` },
        });
        expect(through.statusCode).toBe(200);
      },
    );
    const captured = (seen.authorization ?? '').replace(/^Bearer /, '');
    expect(captured).not.toBe(user);
    expect(decodeJwt(captured).cnf).toEqual({ 'x5t#S256': thumbprintOf(parts.gateway) });
    const replay = async (url: string, part: PartCertificate) => {
      const answer = await request(url, {
        headers: { authorization: `Bearer ${captured}` },
        dispatcher: agentOf(part),
      });
      const body = (await answer.body.json()) as { error?: { code?: string } };
      return { status: answer.statusCode, code: body.error?.code };
    };
    // Over its holder's connection the binding holds: what is refused below is the replay.
    expect((await replay(`${system.urls.orders}/orders`, parts.gateway)).status).toBe(200);
    expect(await replay(`${system.urls.orders}/orders`, parts.orders)).toEqual({
      status: 401,
      code: 'ERR_MTLS_CERTIFICATE_MISMATCH',
    });
    expect((await replay(`${system.urls.inventory}/items`, parts.orders)).status).toBe(401);
    // At the edge (the browser's side, no certificate): a token for orders, not the gateway.
    const edge = await fetch(`${system.urls.gateway}/api/orders/orders`, {
      headers: { authorization: `Bearer ${captured}` },
    });
    expect(edge.status).toBe(401);
  });

  it('refuses --mtls in session mode (a usage error, exit 2)', async () => {
    const refused = await promisify(execFile)(
      process.execPath,
      [bin, 'dev', '--mode', 'session', '--mtls', '--dry-run'],
      { env: { PATH: process.env.PATH ?? '' }, timeout: 15_000 },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 2 });
    expect((refused as { stderr: string }).stderr).toContain('--mtls binds tokens to certificates');
  });
});
