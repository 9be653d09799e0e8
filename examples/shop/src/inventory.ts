import { HttpError } from '@tessera/core';
import type { FastifyInstance } from 'fastify';
import { ShopError } from './errors.js';
import { bodyFields, createShopService, positiveInteger, type ShopServiceOptions } from './service.js';

export interface Item {
  readonly id: string;
  readonly name: string;
  /** In cents. */
  readonly price: number;
  stock: number;
}

/** The items a fresh inventory starts with. */
export const seedItems: readonly Readonly<Item>[] = Object.freeze([
  { id: 'tessera-red', name: 'Red tessera', price: 120, stock: 500 },
  { id: 'tessera-gold', name: 'Gold tessera', price: 950, stock: 40 },
  { id: 'mosaic-kit', name: 'Mosaic starter kit', price: 2400, stock: 12 },
]);

export interface InventoryOptions extends ShopServiceOptions {
  /** Items to start with; default `seedItems`. Kept in memory, per process. */
  readonly items?: readonly Readonly<Item>[];
}

/**
 * `inventory`: `GET /items` (inventory:read) lists the items; `POST /reserve` (inventory:reserve)
 * takes `{ item, quantity }` off the stock and answers the reservation with this hop's trace.
 */
export async function createInventoryService(options: InventoryOptions): Promise<FastifyInstance> {
  const items = new Map((options.items ?? seedItems).map((item) => [item.id, { ...item }]));
  const { app, protect, trace } = await createShopService('inventory', options);

  app.get('/items', { config: protect({ scopes: ['inventory:read'] }) }, async () =>
    [...items.values()].map(({ id, name, price, stock }) => ({ id, name, price, stock })),
  );

  app.post('/reserve', { config: protect({ scopes: ['inventory:reserve'] }) }, async (request) => {
    const body = bodyFields(request.body);
    const quantity = positiveInteger(body.quantity, 1000);
    const item = typeof body.item === 'string' ? items.get(body.item) : undefined;
    if (quantity === undefined) throw new HttpError('ERR_HTTP_REQUEST_INVALID', 'quantity must be 1 to 1000');
    if (item === undefined) throw new ShopError('ERR_SHOP_ITEM_NOT_FOUND', 'no such item');
    if (item.stock < quantity) throw new ShopError('ERR_SHOP_OUT_OF_STOCK', 'not enough stock');
    item.stock -= quantity;
    return {
      reservation: { item: item.id, quantity, price: item.price },
      seen: trace(request.principal),
    };
  });
  return app;
}
