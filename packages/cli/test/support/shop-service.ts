/**
 * One shop service as a process of its own, for tests that need each part apart (the trace test):
 * `node --import tsx shop-service.ts NAME PORT ISSUER [INVENTORY_URL PAYMENTS_URL]`, orders' client
 * secret in ORDERS_CLIENT_SECRET. Tracing is registered as the tessera commands register it
 * (OTEL_* variables, service.name NAME by default). Prints `listening on PORT` once it listens.
 */
import {
  createInventoryService,
  createOrdersService,
  createPaymentsService,
  tokenAuth,
} from '@tessera/example-shop';
import { waitForSignal } from '../../src/lib/signals.js';
import { withTracing } from '../../src/lib/tracing.js';

const [name = '', port = '0', issuer = '', inventoryUrl = '', paymentsUrl = ''] = process.argv.slice(2);

async function run(): Promise<void> {
  const auth = tokenAuth({ issuer });
  const app =
    name === 'orders'
      ? await createOrdersService({
          auth,
          client: {
            tokenEndpoint: `${issuer}/token`,
            clientId: 'orders',
            clientSecret: process.env.ORDERS_CLIENT_SECRET ?? '',
          },
          inventoryUrl,
          paymentsUrl,
        })
      : name === 'inventory'
        ? await createInventoryService({ auth })
        : await createPaymentsService({ auth });
  try {
    const address = await app.listen({ host: '127.0.0.1', port: Number(port) });
    process.stdout.write(`${name} listening on ${address}\n`);
    await waitForSignal();
  } finally {
    await app.close();
  }
}

await withTracing(process.env, name, run);
