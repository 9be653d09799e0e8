import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DpopProofSigner, generateSigningKey } from '@tessera/core';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import type { DevSystem } from '../src/dev/system.js';
import { codeFlowToken, signInAtGateway } from './support/code-flow.js';
import { devSystemForSuite } from './support/processes.js';
import { capturedAfterHybridSignIn, expectHybridEdgeRefuses } from './support/recording-upstream.js';

// `tessera dev --dpop`: the whole demo system with tokens bound to their holder at every hop. The
// page's trace (the order's answer) names the key each service checked a proof of: the gateway's
// at orders, orders' own at inventory and payments; a service called with a bearer token refuses.
// A token captured from what orders received is worthless without the gateway's key: docs/security.md G163.

const SECRET = 'dev-dpop-test-secret-0123456789abcdef-01';
const json = { 'content-type': 'application/json' };
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

interface Trace {
  readonly service: string;
  readonly client_id?: string;
  readonly binding?: { readonly kind: string; readonly value: string };
}

/** The DPoP key a hop checked (its trace binding of kind `jkt`). */
function jktOf(entry: Trace | undefined): string | undefined {
  return entry?.binding?.kind === 'jkt' ? entry.binding.value : undefined;
}

/** The jkt of each hop, in trace order; orders' differs from the two it called, which share orders' key. */
function expectBoundAtEveryHop(trace: readonly Trace[]): void {
  expect(trace.map((entry) => entry.service)).toEqual(['orders', 'inventory', 'payments']);
  const [atOrders, atInventory, atPayments] = trace.map((entry) => jktOf(entry));
  expect(atOrders).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(atInventory).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(atInventory).not.toBe(atOrders);
  expect(atPayments).toBe(atInventory);
}

async function expectServiceRefusesBearer(system: DevSystem): Promise<void> {
  const answer = await fetch(`${system.urls.orders}/orders`, { headers: { authorization: 'Bearer x.y.z' } });
  expect(answer.status).toBe(401);
  expect(answer.headers.get('www-authenticate')).toMatch(/^DPoP algs="/);
}

it('refuses --dpop in session mode (a usage error, exit 2), and says DPoP in the dry run', async () => {
  const run = promisify(execFile);
  const refused = await run(process.execPath, [bin, 'dev', '--mode', 'session', '--dpop', '--dry-run'], {
    env: { PATH: process.env.PATH ?? '' },
    timeout: 15_000,
  }).catch((error: { code: number; stderr: string }) => error);
  expect(refused).toMatchObject({ code: 2 });
  expect((refused as { stderr: string }).stderr).toContain('--dpop');
  const { stdout } = await run(process.execPath, [bin, 'dev', '--dpop', '--dry-run'], {
    env: { PATH: process.env.PATH ?? '' },
    timeout: 15_000,
  });
  expect(stdout).toContain('hybrid mode, DPoP-bound tokens at every hop');
  // A token is bound to one holder: --dpop and --mtls together are refused the same way.
  const both = await run(process.execPath, [bin, 'dev', '--dpop', '--mtls', '--dry-run'], {
    env: { PATH: process.env.PATH ?? '' },
    timeout: 15_000,
  }).catch((error: { code: number; stderr: string }) => error);
  expect(both).toMatchObject({ code: 2 });
  expect((both as { stderr: string }).stderr).toContain('--dpop and --mtls');
});

it('tessera gateway refuses a TESSERA_GATEWAY_DPOP_KEY that is no private JWK, naming the variable and not the value', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-gateway-dpop-key-'));
  try {
    const config = join(dir, 'gateway.yaml');
    writeFileSync(config, 'routes:\n  - { prefix: /x, upstream: "http://127.0.0.1:9", auth: public }\n');
    const value = '{"kty":"OKP","crv":"Ed25519","x":"secret-looking-value"}';
    const refused = await promisify(execFile)(
      process.execPath,
      [bin, 'gateway', '--config', config, '--port', '0'],
      {
        env: { PATH: process.env.PATH ?? '', TESSERA_GATEWAY_DPOP_KEY: value },
        timeout: 15_000,
      },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 1 });
    const { stderr } = refused as { stderr: string };
    expect(stderr).toContain('TESSERA_GATEWAY_DPOP_KEY: not a private JWK');
    expect(stderr).not.toContain('secret-looking-value');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('tessera dev --dpop, hybrid mode', () => {
  const running = devSystemForSuite('hybrid', SECRET, { dpop: true });

  it('writes hybrid.dpop into gateway.yaml and registers orders for bound subjects', () => {
    expect(readFileSync(running.system.files.gateway, 'utf8')).toMatch(/dpop: true/);
    expect(readFileSync(running.system.files.seed, 'utf8')).toContain('dpop_bound_subject_tokens: true');
  });

  it("places an order: the trace shows the gateway's key at orders and orders' own at inventory and payments", async () => {
    const { browser } = await signInAtGateway(running.system.urls.gateway);
    const { csrf_token } = (await (await browser.fetch(`${running.system.urls.gateway}/auth/me`)).json()) as {
      csrf_token: string;
    };
    const response = await browser.fetch(`${running.system.urls.gateway}/api/orders/orders`, {
      method: 'POST',
      headers: { ...json, 'x-csrf-token': csrf_token },
      body: JSON.stringify({ item: 'tessera-red', quantity: 1 }),
    });
    expect(response.status).toBe(201);
    expectBoundAtEveryHop(((await response.json()) as { trace: Trace[] }).trace);
  });

  it('a service called with a bearer token refuses it with a DPoP challenge', () =>
    expectServiceRefusesBearer(running.system));

  it("G163: under --dpop (hybrid), the token orders received (captured behind a second gateway), replayed at orders with its proof, none, as Bearer or a thief's proof, at inventory, at payments, or at the edge: 401", async () => {
    const { system } = running;
    // What the hybrid gateway sends orders, recorded by a stand-in behind a second gateway made
    // from the same gateway.yaml after a browser's sign-in, with a DPoP key the test keeps (the dev
    // gateway's is made per process) so it can show the binding holds for its holder.
    const key = await generateSigningKey('EdDSA');
    const holder = new DpopProofSigner(key);
    const thief = await DpopProofSigner.generate();
    const seen = await capturedAfterHybridSignIn(system, { dpopKey: key });
    const captured = (seen.authorization ?? '').replace(/^DPoP /, '');
    expect(decodeJwt(captured)).toMatchObject({ client_id: 'gateway', cnf: { jkt: holder.jkt } });
    const replay = async (url: string, headers: Record<string, string>) => {
      const charge = url.endsWith('/charge');
      const answer = await fetch(url, {
        method: charge ? 'POST' : 'GET',
        headers: { ...json, ...headers },
        ...(charge ? { body: '{}' } : {}),
      });
      const body = (await answer.json()) as { error?: { code?: string } };
      // The challenge's error (RFC 9449 7.1), the description aside.
      const challenge = /error="([^"]+)"/.exec(answer.headers.get('www-authenticate') ?? '')?.[1];
      return { status: answer.status, challenge, code: body.error?.code };
    };
    const proved = (by: DpopProofSigner, url: string) =>
      by.requestHeaders({ method: url.endsWith('/charge') ? 'POST' : 'GET', url, accessToken: captured });
    const orders = `${system.urls.orders}/orders`;
    const inventory = `${system.urls.inventory}/items`;
    const payments = `${system.urls.payments}/charge`;
    // With its holder's proof the binding holds: what is refused below is the replay.
    expect((await replay(orders, proved(holder, orders))).status).toBe(200);
    const refused = (challenge: string, code: string) => ({ status: 401, challenge, code });
    const keyMismatch = refused('invalid_token', 'ERR_DPOP_KEY_MISMATCH');
    // payments is no audience of the session's token (the gateway reaches orders and inventory only).
    const audience = refused('invalid_token', 'ERR_JWT_AUDIENCE_INVALID');
    const refusals = [
      [
        'orders, the proof it came with (for the URL it was sent to)',
        orders,
        { authorization: `DPoP ${captured}`, dpop: String(seen.dpop) },
        refused('invalid_dpop_proof', 'ERR_DPOP_URL_MISMATCH'),
      ],
      [
        'orders, no proof',
        orders,
        { authorization: `DPoP ${captured}` },
        refused('invalid_dpop_proof', 'ERR_DPOP_PROOF_MISSING'),
      ],
      [
        'orders, as Bearer',
        orders,
        { authorization: `Bearer ${captured}` },
        refused('invalid_token', 'ERR_DPOP_BOUND_TOKEN_AS_BEARER'),
      ],
      ["orders, a thief's proof", orders, proved(thief, orders), keyMismatch],
      ["inventory, a thief's proof", inventory, proved(thief, inventory), keyMismatch],
      ["payments, a thief's proof", payments, proved(thief, payments), audience],
      ["payments, the holder's proof", payments, proved(holder, payments), audience],
    ] as const;
    const answers = [];
    for (const [at, url, headers] of refusals) answers.push({ at, ...(await replay(url, headers)) });
    expect(answers).toEqual(refusals.map(([at, , , answer]) => ({ at, ...answer })));
    // At the edge (the browser's side): a hybrid route takes a session, no token.
    await expectHybridEdgeRefuses(system, proved(thief, `${system.urls.gateway}/api/orders/orders`));
  });
});

describe('tessera dev --dpop, token mode', () => {
  const running = devSystemForSuite('token', SECRET, { dpop: true });

  /** shop-cli's code flow; with `holder`, the code is redeemed with its proof and the token bound to it. */
  const userToken = (holder?: DpopProofSigner) =>
    codeFlowToken(running.system.urls.tokenService, 'alice', holder === undefined ? {} : { holder });

  const orderUrl = () => `${running.system.urls.gateway}/api/orders/orders`;
  const order = (headers: Record<string, string>) =>
    fetch(orderUrl(), {
      method: 'POST',
      headers: { ...json, ...headers },
      body: JSON.stringify({ item: 'tessera-red', quantity: 1 }),
    });

  it("a DPoP client's bound token: the edge checks its proof, and orders sees the gateway's key, not the client's", async () => {
    const holder = await DpopProofSigner.generate();
    const token = await userToken(holder);
    expect(decodeJwt(token).cnf).toEqual({ jkt: holder.jkt });
    const response = await order(
      holder.requestHeaders({ method: 'POST', url: orderUrl(), accessToken: token }),
    );
    expect(response.status).toBe(201);
    const { trace } = (await response.json()) as { trace: Trace[] };
    expectBoundAtEveryHop(trace);
    expect(trace[0]).toMatchObject({ client_id: 'gateway' });
    expect(jktOf(trace[0])).not.toBe(holder.jkt);
    // The bound token as a bearer token at the edge: refused.
    expect((await order({ authorization: `Bearer ${token}` })).status).toBe(401);
  });

  it("the page's and tessera login's bearer tokens are taken at the edge (allowBearer) and bound behind it", async () => {
    const response = await order({ authorization: `Bearer ${await userToken()}` });
    expect(response.status).toBe(201);
    expectBoundAtEveryHop(((await response.json()) as { trace: Trace[] }).trace);
  });

  it('a service called with a bearer token refuses it with a DPoP challenge', () =>
    expectServiceRefusesBearer(running.system));
});
