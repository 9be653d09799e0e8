import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { sendError } from '../answer.js';
import { GatewayError } from '../errors.js';
import { loadPageFiles } from './files.js';
import { assetHeaders, pageHeaders, reportHeaders } from './headers.js';

/** How the page signs a user in: a form posted to /auth/login, a redirect to the token service, or not at all. */
export type PageLogin = 'form' | 'redirect' | 'none';

export interface PageOptions {
  readonly login: PageLogin;
  /** A report file to serve at `PAGE_ASSET_PREFIX/report` and link to from the page. */
  readonly report?: string;
}

/** The prefix of the page's own assets; no route may claim it. */
export const PAGE_ASSET_PREFIX = '/_tessera';

/**
 * Serves the demo page at `/` and its assets under PAGE_ASSET_PREFIX. The files are read once,
 * here; an asset is found by exact name in a fixed list, so no request path ever reaches the file
 * system. The login method reaches the page as `data-login` on `<body>`. A configured report
 * file is served at PAGE_ASSET_PREFIX/report.
 */
export function registerPage(app: FastifyInstance, options: PageOptions): void {
  const { html, assets } = loadPageFiles(options.login, options.report !== undefined);
  const { report } = options;

  app.get('/', async (_request, reply) =>
    reply.headers(pageHeaders).type('text/html; charset=utf-8').send(html),
  );

  app.get(`${PAGE_ASSET_PREFIX}/*`, async (request, reply) => {
    const name = (request.params as { '*'?: string })['*'] ?? '';
    if (name === 'report' && report !== undefined) {
      // Read on every request: each `tessera compare` run writes a new one. The path is the
      // config's, never the request's.
      const body = await readFile(report).catch(() => undefined);
      if (body === undefined) return sendError(reply, new GatewayError('not_found'));
      return reply.headers(reportHeaders).type('text/html; charset=utf-8').send(body);
    }
    const asset = assets.get(name);
    if (asset === undefined) return sendError(reply, new GatewayError('not_found'));
    return reply.headers(assetHeaders).type(asset.type).send(asset.body);
  });
}
