/** The demo shop's module, as `tessera dev`, `tessera compare` and `tessera shop-service` use it. */
export type ShopModule = typeof import('@tessera/example-shop');

const SHOP = '@tessera/example-shop';

/**
 * The demo shop, imported when a command runs it. It is a workspace of the Tessera repository and
 * is not published, so the published CLI declares it only as an optional peer: installed from the
 * registry, these commands say so in one line instead of failing on a missing module.
 */
export async function loadShop(): Promise<ShopModule> {
  try {
    return await import(SHOP);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(error).includes(SHOP)) {
      throw new Error(
        `${SHOP} is not installed: the demo shop runs from a checkout of the Tessera repository (npm install at its root)`,
        { cause: error },
      );
    }
    throw error;
  }
}
