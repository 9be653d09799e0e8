export {
  type Needs,
  type SessionAuthOptions,
  SHOP_CALLS,
  type ShopAuth,
  sessionAuth,
  type TokenAuthOptions,
  tokenAuth,
} from './auth.js';
export { ShopError, type ShopErrorCode, shopErrorCodes, shopErrorRegistry } from './errors.js';
export { createInventoryService, type InventoryOptions, type Item, seedItems } from './inventory.js';
export { createOrdersService, type Order, type OrdersOptions } from './orders.js';
export { createPaymentsService } from './payments.js';
export type { ShopServiceOptions } from './service.js';
export { type ActClaim, seenBy, type TraceCall, type TraceEntry } from './trace.js';
