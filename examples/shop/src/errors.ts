import { type ErrorCodeEntry, type ErrorRegistry, errorFamily, errorRegistry } from '@tessera/core';

/** What the shop's services refuse for the shop's own reasons; a malformed request is core's. */
export const shopErrorCodes = {
  ERR_SHOP_ITEM_NOT_FOUND: { status: 404, meaning: 'No item of the inventory has this id.' },
  ERR_SHOP_OUT_OF_STOCK: {
    status: 409,
    meaning: 'The item has less stock than the quantity asked for; nothing was reserved.',
  },
  ERR_SHOP_PAYMENT_FAILED: {
    status: 502,
    meaning: 'payments refused the charge orders asked for it on the caller’s behalf; no order was made.',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type ShopErrorCode = keyof typeof shopErrorCodes;

/** The shop's codes (its misuse is core's `ERR_INVALID_OPTION` and `ERR_INVALID_USE`). */
export const shopErrorRegistry: ErrorRegistry = errorRegistry(shopErrorCodes);

// Written for the caller: the charge refused is said, never why payments refused it.
export class ShopError extends errorFamily(shopErrorCodes, { expose: true }) {}
