import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DpopProofSigner } from '@tessera/core';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { Browser, signIn } from '../../../test/support/browser.js';
import type { DevSystem } from '../src/dev/system.js';
import { codeFlowToken } from './support/code-flow.js';
import { devSystemForSuite } from './support/processes.js';

// `tessera dev --dpop`: the whole demo system with tokens bound to their holder at every hop. The
// page's trace (the order's answer) names the key each service checked a proof of: the gateway's
// at orders, orders' own at inventory and payments; a service called with a bearer token refuses.

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
    const browser = new Browser();
    const login = await browser.fetch(`${running.system.urls.gateway}/auth/login`);
    const { location } = await signIn(
      browser,
      login.headers.get('location') as string,
      'alice',
      'alice-password',
    );
    expect((await browser.fetch(location)).status).toBe(303);
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
