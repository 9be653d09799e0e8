import type { FastifyInstance } from 'fastify';
import { registerAuthEndpoints } from './auth/endpoints.js';
import { type GatewayConfig, servesPage } from './config.js';
import { createListener } from './listener.js';
import { openModes } from './modes.js';
import { registerHealth } from './observability/health.js';
import { createMetrics } from './observability/metrics.js';
import type { GatewayOptions } from './options.js';
import { registerGatewayPage } from './page/gateway-page.js';
import { registerProxy } from './proxy/index.js';
import { openOrClose } from './shutdown.js';
import { refuseMissingSecrets } from './start-checks.js';

export type { GatewayOptions } from './options.js';

/**
 * Builds the gateway as a Fastify app, without listening, from its named parts: the listener and
 * its hooks (`listener.ts`), the auth modes the routes use (`modes.ts`, closed with the app by
 * `shutdown.ts`), /healthz, /readyz and /metrics (`observability/health.ts`), the /auth endpoints
 * (`auth/endpoints.ts`), the page (`page/gateway-page.ts`) and the routes, proxied through a
 * handler per mode (`proxy/index.ts`, `proxy/dispatch.ts`). Everything it opened (stores,
 * databases, pools) is closed by `app.close()`, or at once when a part fails to start.
 */
export async function createGateway(
  config: GatewayConfig,
  options: GatewayOptions = {},
): Promise<FastifyInstance> {
  refuseMissingSecrets(config, options);
  const metrics = createMetrics();
  const app = createListener(config, options, metrics);
  // A part that fails to start closes what the others opened.
  return openOrClose(app, async () => {
    const modes = await openModes(app, config, options);
    registerHealth(app, { readiness: modes.readiness, metrics, exposure: config.metrics });
    await registerAuthEndpoints(app, modes, config.session?.allowedOrigins);
    await registerGatewayPage(app, config, modes.session !== undefined);
    await registerProxy(app, config, modes, metrics, !servesPage(config), options.upstreamTls);
    return app;
  });
}
