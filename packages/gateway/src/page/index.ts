import type { FastifyInstance } from 'fastify';
import { sendError } from '../answer.js';
import { GatewayError } from '../errors.js';
import { loadPageFiles } from './files.js';
import { assetHeaders, pageHeaders } from './headers.js';

/** How the page signs a user in: a form posted to /auth/login, a redirect to the token service, or not at all. */
export type PageLogin = 'form' | 'redirect' | 'none';

export interface PageOptions {
  readonly login: PageLogin;
}

/** The prefix of the page's own assets; no route may claim it. */
export const PAGE_ASSET_PREFIX = '/_tessera';

/**
 * Serves the demo page at `/` and its assets under PAGE_ASSET_PREFIX. The files are read once,
 * here; an asset is found by exact name in a fixed list, so no request path ever reaches the file
 * system. The login method reaches the page as `data-login` on `<body>`.
 */
export function registerPage(app: FastifyInstance, options: PageOptions): void {
  const { html, assets } = loadPageFiles(options.login);

  app.get('/', async (_request, reply) =>
    reply.headers(pageHeaders).type('text/html; charset=utf-8').send(html),
  );

  app.get(`${PAGE_ASSET_PREFIX}/*`, async (request, reply) => {
    const name = (request.params as { '*'?: string })['*'] ?? '';
    const asset = assets.get(name);
    if (asset === undefined) return sendError(reply, new GatewayError('not_found'));
    return reply.headers(assetHeaders).type(asset.type).send(asset.body);
  });
}
