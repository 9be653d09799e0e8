import type { FastifyInstance } from 'fastify';
import { type GatewayConfig, servesPage } from '../config.js';
import { type PageLogin, type PageOptions, registerPage } from './index.js';

/**
 * How the page signs in with this config: the gateway's redirect when a hybrid route exists, its
 * form with a session mode, the page's own code flow in token mode with a page client, else none.
 */
function loginOf(config: GatewayConfig, hasSession: boolean): PageLogin {
  if (config.routes.some((route) => route.auth === 'hybrid')) return 'redirect';
  if (hasSession) return 'form';
  return config.token?.pageClient !== undefined ? 'browser' : 'none';
}

/** What the page says about this gateway: the one mode of its routes, `mixed`, or `public`. */
function pageOptionsOf(config: GatewayConfig, hasSession: boolean): PageOptions {
  const login = loginOf(config, hasSession);
  const modes = new Set(config.routes.map((route) => route.auth).filter((auth) => auth !== 'public'));
  const mode = modes.size === 0 ? 'public' : modes.size === 1 ? [...modes][0] : 'mixed';
  const pageClient = config.token?.pageClient;
  return {
    login,
    ...(config.pageReport === undefined ? {} : { report: config.pageReport }),
    ...(mode === undefined ? {} : { mode }),
    ...(login === 'browser' && pageClient !== undefined && config.token !== undefined
      ? { signIn: { issuer: config.token.issuer, clientId: pageClient.clientId, scopes: pageClient.scopes } }
      : {}),
  };
}

/** Serves the demo page (in a scope of its own) when the config says so (`servesPage`). */
export async function registerGatewayPage(
  app: FastifyInstance,
  config: GatewayConfig,
  hasSession: boolean,
): Promise<void> {
  if (!servesPage(config)) return;
  const options = pageOptionsOf(config, hasSession);
  await app.register(async (page) => {
    registerPage(page, options);
  });
}
