import { randomUUID } from 'node:crypto';
import { HttpError } from '@tessera/core';
import { createServiceClient, type ServiceFetch, type TokenExchangerOptions } from '@tessera/resource';
import { authenticationOf } from '@tessera/resource/fastify';
import type { FastifyInstance } from 'fastify';
import { ShopError } from './errors.js';
import { bodyFields, createShopService, positiveInteger, type ShopServiceOptions } from './service.js';
import type { TraceCall, TraceEntry } from './trace.js';

export interface Order {
  readonly id: string;
  readonly item: string;
  readonly quantity: number;
  /** In cents. */
  readonly amount: number;
  readonly status: 'paid';
  readonly charge: string;
}

export interface OrdersOptions extends ShopServiceOptions {
  /**
   * This service's client at the token service (token exchange, client_credentials). Without a
   * `clientSecret`, the client certificate of `dispatcher` (an undici Agent presenting this
   * service's certificate, so every call it makes is mutual TLS) authenticates it (RFC 8705
   * tls_client_auth); with `dpop` (its own key) what it exchanges is bound to that key and every
   * call carries a proof.
   */
  readonly client: Pick<
    TokenExchangerOptions,
    'tokenEndpoint' | 'clientId' | 'clientSecret' | 'dispatcher' | 'dpop'
  >;
  /** Base URLs of the services orders calls. */
  readonly inventoryUrl: string;
  readonly paymentsUrl: string;
}

interface Hop<T> {
  readonly ok: boolean;
  readonly status: number;
  readonly body: T;
}

/**
 * `orders`: `GET /orders` (orders:read) lists the caller's own orders; `POST /orders`
 * (orders:write) with `{ item, quantity }` reserves at inventory and charges at payments on the
 * caller's behalf (exchanged tokens in token mode, new session references in session mode) and
 * answers 201 with the order, the trace of every hop as each service verified it, and the calls
 * between them (`{ from, to }`: the tree the trace was made along).
 */
/** How many orders `GET /orders` answers: the caller's newest, oldest of them first. */
export const ORDERS_PAGE = 50;

export async function createOrdersService(options: OrdersOptions): Promise<FastifyInstance> {
  const call: ServiceFetch = createServiceClient(options.client);
  // In memory, per process: keyed by the caller's subject, so nobody can list another's orders.
  const ordersBySubject = new Map<string, Order[]>();
  const { app, protect, trace: traceOf } = await createShopService('orders', options);

  app.get('/orders', { config: protect({ scopes: ['orders:read'] }) }, async (request) => {
    const subject = request.principal?.subject ?? '';
    // The newest page only: a list that grew with every order would make each read slower than
    // the last (a load run places thousands) and the answer unbounded.
    return (ordersBySubject.get(subject) ?? []).slice(-ORDERS_PAGE);
  });

  app.post('/orders', { config: protect({ scopes: ['orders:write'] }) }, async (request, reply) => {
    const body = bodyFields(request.body);
    const quantity = positiveInteger(body.quantity, 1000);
    if (typeof body.item !== 'string' || quantity === undefined) {
      throw new HttpError('ERR_HTTP_REQUEST_INVALID', 'item and quantity (1 to 1000) required');
    }
    const on = authenticationOf(request);
    const post = async <T>(
      url: string,
      audience: string,
      scope: string,
      payload: unknown,
    ): Promise<Hop<T>> => {
      const response = await call(url, {
        method: 'POST',
        audience,
        scope: [scope],
        on,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      return { ok: response.ok, status: response.status, body: (await response.json()) as T };
    };

    const reserved = await post<{ reservation: { price: number }; seen: TraceEntry }>(
      `${options.inventoryUrl}/reserve`,
      'inventory',
      'inventory:reserve',
      { item: body.item, quantity },
    );
    if (!reserved.ok) return reply.code(reserved.status < 500 ? reserved.status : 502).send(reserved.body);

    const id = randomUUID();
    const amount = reserved.body.reservation.price * quantity;
    const charged = await post<{ charge: { id: string }; seen: TraceEntry }>(
      `${options.paymentsUrl}/charge`,
      'payments',
      'payments:charge',
      { amount, reference: id },
    );
    // A refused charge is this service's failure (its delegation), not the caller's: 502.
    if (!charged.ok) throw new ShopError('ERR_SHOP_PAYMENT_FAILED', 'payments refused the charge');

    const order: Order = {
      id,
      item: body.item,
      quantity,
      amount,
      status: 'paid',
      charge: charged.body.charge.id,
    };
    const subject = on.principal.subject;
    ordersBySubject.set(subject, [...(ordersBySubject.get(subject) ?? []), order]);
    const trace = [traceOf(request.principal), reserved.body.seen, charged.body.seen];
    // The call tree the trace was made along: orders called each of the others itself.
    const calls: readonly TraceCall[] = [
      { from: 'orders', to: 'inventory' },
      { from: 'orders', to: 'payments' },
    ];
    return reply.code(201).send({ order, trace, calls });
  });
  return app;
}
