import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createInventoryService,
  createOrdersService,
  createPaymentsService,
  SHOP_CALLS,
  sessionAuth,
} from '@tessera/example-shop';
import { createGateway, parseGatewayConfig } from '@tessera/gateway';
import {
  createSessionReferences,
  deriveReferenceKey,
  keysByPart,
  type PartKeys,
  type ReferenceKey,
  SESSION_REFERENCE_HEADER,
} from '@tessera/resource/session';
import { createSessionManager } from '@tessera/session';
import { SqliteStore } from '@tessera/storage';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Session references between the gateway and the shop over real HTTP: what a service receives
// names the session by its store key (nothing the edge or another service accepts), each edge has
// its own key, and the reference carries the chain of services it came through.

const dir = mkdtempSync(join(tmpdir(), 'tessera-session-references-'));
const MASTER = randomBytes(32).toString('base64url');
const keyOf = (from: string, to: string, id = 'k1'): ReferenceKey => deriveReferenceKey(MASTER, from, to, id);
const edges: readonly (readonly [string, string])[] = [
  ['gateway', 'orders'],
  ['gateway', 'inventory'],
  ...SHOP_CALLS,
];
const keys = keysByPart(edges, (from, to) => [keyOf(from, to)]);
const partKeys = (name: string) => keys[name] as PartKeys;

const sessions = new SqliteStore({ path: join(dir, 'sessions.db') });
const manager = createSessionManager({ store: sessions, onWarning: () => {} });
const apps: FastifyInstance[] = [];
const servers: Server[] = [];
const urls = { gateway: '', orders: '', inventory: '', payments: '' };
/** What reached inventory from orders, as inventory received it. */
const atInventory: { route: string; reference: string }[] = [];

async function listen(app: FastifyInstance): Promise<string> {
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

/** A pass-through in front of inventory that keeps each call's session reference. */
async function recordingProxy(target: string): Promise<string> {
  const server = createServer((incoming, outgoing) => {
    atInventory.push({
      route: `${incoming.method} ${incoming.url}`,
      reference: String(incoming.headers[SESSION_REFERENCE_HEADER]),
    });
    const forwarded = httpRequest(
      `${target}${incoming.url}`,
      { method: incoming.method, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    incoming.pipe(forwarded);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function startOrders(auth: ReturnType<typeof sessionAuth>, inventoryUrl: string): Promise<string> {
  return listen(
    await createOrdersService({
      auth,
      // Session mode never calls the token service.
      client: { tokenEndpoint: 'http://127.0.0.1:1/token', clientId: 'orders', clientSecret: 'unused' },
      inventoryUrl,
      paymentsUrl: urls.payments,
    }),
  );
}

beforeAll(async () => {
  const auth = sessionAuth({ manager, keys });
  urls.inventory = await listen(await createInventoryService({ auth }));
  urls.payments = await listen(await createPaymentsService({ auth }));
  urls.orders = await startOrders(auth, await recordingProxy(urls.inventory));
  const config = parseGatewayConfig({
    logLevel: 'silent',
    session: { store: { type: 'memory' }, insecureHttpLocalhost: true },
    identity: { database: `sqlite:${join(dir, 'identity.db')}` },
    routes: [
      {
        prefix: '/api/orders',
        upstream: urls.orders,
        auth: 'session',
        audience: 'orders',
        stripPrefix: true,
      },
      {
        prefix: '/api/inventory',
        upstream: urls.inventory,
        auth: 'session',
        audience: 'inventory',
        stripPrefix: true,
      },
    ],
  });
  // The gateway is given only its own keys: the ones that mint for the services it routes to.
  const gateway = await createGateway(config, {
    sessionReferenceKeys: partKeys('gateway').mint,
    sessionStore: sessions,
  });
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  apps.push(gateway);
  urls.gateway = `http://localhost:${(gateway.server.address() as AddressInfo).port}`;
  const { openUserDirectory } = await import('@tessera/identity');
  const { createDatabase, parseDatabaseUrl } = await import('@tessera/storage/sql');
  const db = await createDatabase(parseDatabaseUrl(`sqlite:${join(dir, 'identity.db')}`));
  await (await openUserDirectory({ db })).create('alice', 'alice-password');
  await db.destroy();
});

afterAll(async () => {
  for (const app of apps.reverse()) await app.close();
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await sessions.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown> & { readonly error?: { readonly code: string } };
}

async function send(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  const text = await response.text();
  let body: Answer['body'] = {};
  try {
    body = JSON.parse(text) as Answer['body'];
  } catch {
    // Not JSON.
  }
  return { status: response.status, body };
}

const json = { 'content-type': 'application/json' };

async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const login = await fetch(`${urls.gateway}/auth/login`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
  });
  expect(login.status).toBe(204);
  const cookie = String(login.headers.get('set-cookie')).split(';')[0] as string;
  const me = (await (await fetch(`${urls.gateway}/auth/me`, { headers: { cookie } })).json()) as {
    csrf_token: string;
  };
  return { cookie, csrf: me.csrf_token };
}

interface Placed {
  readonly reference: string;
  readonly route: string;
  readonly trace: readonly Record<string, unknown>[];
}

/** Places an order through the gateway; returns the reference inventory got for it. */
async function placeOrder(): Promise<Placed> {
  const { cookie, csrf } = await signIn();
  const before = atInventory.length;
  const placed = await send(`${urls.gateway}/api/orders/orders`, {
    method: 'POST',
    headers: { ...json, cookie, 'x-csrf-token': csrf },
    body: JSON.stringify({ item: 'tessera-red', quantity: 1 }),
  });
  expect(placed.status).toBe(201);
  const received = atInventory[before];
  if (received === undefined) throw new Error('inventory was not called');
  return { ...received, trace: placed.body.trace as Record<string, unknown>[] };
}

const inventoryReferences = () => createSessionReferences({ self: 'inventory', ...partKeys('inventory') });
const charge = (reference: string) =>
  send(`${urls.payments}/charge`, {
    method: 'POST',
    headers: { ...json, [SESSION_REFERENCE_HEADER]: reference },
    body: JSON.stringify({ amount: 1, reference: 'o-1' }),
  });
const reserve = (reference: string) =>
  send(`${urls.inventory}/reserve`, {
    method: 'POST',
    headers: { ...json, [SESSION_REFERENCE_HEADER]: reference },
    body: JSON.stringify({ item: 'tessera-red', quantity: 1 }),
  });
const listOrders = (reference: string) =>
  send(`${urls.orders}/orders`, { headers: { [SESSION_REFERENCE_HEADER]: reference } });

describe('orders: GET /orders', () => {
  it("answers the caller's newest 50 orders, oldest of them first, however many were placed", async () => {
    const { cookie, csrf } = await signIn();
    const before = await send(`${urls.gateway}/api/orders/orders`, { headers: { cookie } });
    const had = (before.body as unknown as unknown[]).length;
    const ids: string[] = [];
    for (let i = 0; i < 55; i++) {
      const placed = await send(`${urls.gateway}/api/orders/orders`, {
        method: 'POST',
        headers: { ...json, cookie, 'x-csrf-token': csrf },
        body: JSON.stringify({ item: 'tessera-red', quantity: 1 }),
      });
      expect(placed.status).toBe(201);
      ids.push(String((placed.body.order as { id: string }).id));
    }
    const listed = await send(`${urls.gateway}/api/orders/orders`, { headers: { cookie } });
    expect(listed.status).toBe(200);
    expect(had + 55).toBeGreaterThan(50);
    expect((listed.body as unknown as { id: string }[]).map((order) => order.id)).toEqual(ids.slice(-50));
  });
});

describe('session references between the gateway and the shop (docs/security.md G97)', () => {
  it('what inventory opens is no cookie at the gateway and no reference at payments or orders', async () => {
    const { reference, route } = await placeOrder();
    const opened = inventoryReferences().open(reference, route);
    expect(opened.audience).toBe('inventory');
    const { sessionHash } = opened;
    for (const name of ['__Host-tessera-sid', 'tessera-sid']) {
      const asCookie = await send(`${urls.gateway}/api/orders/orders`, {
        headers: { cookie: `${name}=${sessionHash}` },
      });
      expect(asCookie.status).toBe(401);
      const me = await send(`${urls.gateway}/auth/me`, { headers: { cookie: `${name}=${sessionHash}` } });
      expect(me.status).toBe(401);
    }
    for (const presented of [sessionHash, reference]) {
      for (const answer of [await charge(presented), await listOrders(presented)]) {
        expect(answer.status).toBe(401);
        expect(answer.body.error?.code).toBe('ERR_SESSION_REFERENCE_INVALID');
      }
    }
  });

  it("payments' keys mint nothing inventory accepts", async () => {
    const { reference, route } = await placeOrder();
    const { sessionHash } = inventoryReferences().open(reference, route);
    const payments = partKeys('payments');
    // payments holds no key that mints for inventory at all.
    expect(() =>
      createSessionReferences({ self: 'payments', ...payments }).mint(
        sessionHash,
        [],
        'inventory',
        'POST /reserve',
      ),
    ).toThrow(/no session reference key for inventory/);
    const ordersToPayments = payments.accept.orders?.[0] as ReferenceKey;
    const forged = [
      // Its own name with the key it holds, as if it were a caller of inventory.
      createSessionReferences({ self: 'payments', mint: { inventory: ordersToPayments } }),
      // Posing as orders, with the key orders made its references to payments with.
      createSessionReferences({ self: 'orders', mint: { inventory: ordersToPayments } }),
    ];
    for (const minter of forged) {
      const answer = await reserve(minter.mint(sessionHash, ['gateway'], 'inventory', 'POST /reserve'));
      expect(answer.status).toBe(401);
      expect(answer.body.error?.code).toBe('ERR_SESSION_REFERENCE_INVALID');
    }
  });

  it('a reference made for inventory is refused by payments, and inventory cannot make one payments takes', async () => {
    const { reference, route } = await placeOrder();
    const { sessionHash } = inventoryReferences().open(reference, route);
    // Made by orders for inventory on the very route payments serves.
    const orders = createSessionReferences({ self: 'orders', ...partKeys('orders') });
    const forInventory = orders.mint(sessionHash, ['gateway'], 'inventory', 'POST /charge');
    const refused = await charge(forInventory);
    expect(refused.status).toBe(401);
    expect(refused.body.error?.code).toBe('ERR_SESSION_REFERENCE_INVALID');
    // inventory, holding orders -> inventory's key, posing as orders towards payments.
    const ordersToInventory = partKeys('inventory').accept.orders?.[0] as ReferenceKey;
    const posing = createSessionReferences({ self: 'orders', mint: { payments: ordersToInventory } });
    const answer = await charge(posing.mint(sessionHash, ['gateway'], 'payments', 'POST /charge'));
    expect(answer.status).toBe(401);
    expect(answer.body.error?.code).toBe('ERR_SESSION_REFERENCE_INVALID');
    // The genuine one is accepted: orders' own key for payments.
    expect((await charge(orders.mint(sessionHash, ['gateway'], 'payments', 'POST /charge'))).status).toBe(
      201,
    );
  });

  it('the chain gateway -> orders -> inventory arrives at inventory as actors, and a tampered chain is refused', async () => {
    const { reference, route, trace } = await placeOrder();
    expect(inventoryReferences().open(reference, route).chain).toEqual(['gateway', 'orders']);
    // Each service's principal as it reported it: the caller as client, the hops after the edge as act.
    expect(trace.map(({ service, client_id, act }) => ({ service, client_id, act }))).toEqual([
      { service: 'orders', client_id: 'gateway', act: undefined },
      { service: 'inventory', client_id: 'orders', act: { sub: 'orders' } },
      { service: 'payments', client_id: 'orders', act: { sub: 'orders' } },
    ]);
    // The gateway is no caller of payments: a reference it made for payments is refused, whatever key.
    const { sessionHash } = inventoryReferences().open(reference, route);
    const gatewayToPayments = createSessionReferences({
      self: 'gateway',
      mint: { payments: partKeys('payments').accept.orders?.[0] as ReferenceKey },
    });
    const straight = await charge(gatewayToPayments.mint(sessionHash, [], 'payments', 'POST /charge'));
    expect(straight.status).toBe(401);
    expect(straight.body.error?.code).toBe('ERR_SESSION_REFERENCE_INVALID');
    // payments requires the call to have come through orders after the edge, read from the chain
    // as token mode reads `act`: orders acting as the edge itself (no gateway before it) is 403.
    const orders = createSessionReferences({ self: 'orders', ...partKeys('orders') });
    expect((await charge(orders.mint(sessionHash, [], 'payments', 'POST /charge'))).status).toBe(403);
    expect((await charge(orders.mint(sessionHash, ['gateway'], 'payments', 'POST /charge'))).status).toBe(
      201,
    );
    const parts = reference.split('.');
    for (const chain of ['orders', 'gateway payments orders', 'gateway orders orders', '']) {
      parts[5] = Buffer.from(chain).toString('base64url');
      const answer = await reserve(parts.join('.'));
      expect(answer.status).toBe(401);
      expect(answer.body.error?.code).toBe('ERR_SESSION_REFERENCE_INVALID');
    }
  });

  it('rotation: the new key mints, a reference the old one made still opens until the old key is dropped', async () => {
    const { reference, route } = await placeOrder();
    const { sessionHash } = inventoryReferences().open(reference, route);
    const old = keyOf('gateway', 'orders', 'k1');
    const next = keyOf('gateway', 'orders', 'k2');
    const mintWith = (key: ReferenceKey) =>
      createSessionReferences({ self: 'gateway', mint: { orders: key } }).mint(
        sessionHash,
        [],
        'orders',
        'GET /orders',
      );
    // Step 1: orders accepts both (the new one first); the gateway still mints with the old.
    const during = keysByPart(edges, (from, to) =>
      from === 'gateway' && to === 'orders' ? [next, old] : [keyOf(from, to)],
    );
    const rotating = await startOrders(sessionAuth({ manager, keys: during }), urls.inventory);
    const byOld = mintWith(old);
    expect(
      (await send(`${rotating}/orders`, { headers: { [SESSION_REFERENCE_HEADER]: byOld } })).status,
    ).toBe(200);
    // Step 2: the gateway mints with the new one; the old reference still opens.
    const byNew = mintWith(next);
    expect(byNew.split('.')[1]).toBe('k2');
    expect(
      (await send(`${rotating}/orders`, { headers: { [SESSION_REFERENCE_HEADER]: byNew } })).status,
    ).toBe(200);
    expect(
      (await send(`${rotating}/orders`, { headers: { [SESSION_REFERENCE_HEADER]: byOld } })).status,
    ).toBe(200);
    // Step 3, once the old key's references have expired: orders drops it; what it made is refused.
    const after = keysByPart(edges, (from, to) => [
      from === 'gateway' && to === 'orders' ? next : keyOf(from, to),
    ]);
    const rotated = await startOrders(sessionAuth({ manager, keys: after }), urls.inventory);
    const refused = await send(`${rotated}/orders`, { headers: { [SESSION_REFERENCE_HEADER]: byOld } });
    expect(refused.status).toBe(401);
    expect(refused.body.error?.code).toBe('ERR_SESSION_REFERENCE_INVALID');
    expect((await send(`${rotated}/orders`, { headers: { [SESSION_REFERENCE_HEADER]: byNew } })).status).toBe(
      200,
    );
    // The running orders (old key only) refuses what the new key made: accept first, then mint.
    expect((await listOrders(byNew)).status).toBe(401);
  });
});
