import type { FastifyInstance } from 'fastify';

/** How the page signs a user in: a form posted to /auth/login, a redirect to the token service, or not at all. */
export type PageLogin = 'form' | 'redirect' | 'none';

export interface PageOptions {
  readonly login: PageLogin;
}

/** The prefix of the page's own assets; no route may claim it. */
export const PAGE_ASSET_PREFIX = '/_tessera';

/** Serves the demo page at `/` and its assets under PAGE_ASSET_PREFIX. */
export function registerPage(app: FastifyInstance, options: PageOptions): void {
  app.get('/', async (_request, reply) =>
    reply
      .code(501)
      .header('cache-control', 'no-store')
      .send({ error: 'not_implemented', login: options.login }),
  );
}
