import { readFile } from 'node:fs/promises';
import { HttpError, TesseraTypeError } from '@tessera/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { sendError } from '../answer.js';
import { loadPageFiles } from './files.js';
import { assetHeaders, pageCsp, pageHeaders, reportHeaders } from './headers.js';

/**
 * How the page signs a user in: a form posted to /auth/login (session), a redirect to the
 * gateway's /auth/login (hybrid), as a browser application of its own (token mode with a page
 * client: code + PKCE in the page), or not at all (bearer tokens only).
 */
export type PageLogin = 'form' | 'redirect' | 'browser' | 'none';

/** Token mode's page sign-in: the token service and the public client registered for the page. */
export interface PageSignIn {
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
}

export interface PageOptions {
  readonly login: PageLogin;
  /** The routes' auth mode, named on the page; default `public`. */
  readonly mode?: string;
  /** Required with `login: 'browser'`. */
  readonly signIn?: PageSignIn;
  /** A report file to serve at `PAGE_ASSET_PREFIX/report` and link to from the page. */
  readonly report?: string;
}

/** The prefix of the page's own assets; no route may claim it. */
export const PAGE_ASSET_PREFIX = '/_tessera';

/** Where the token service sends the browser back to in token mode: the page again, which finishes the sign-in. */
export const PAGE_CALLBACK_PATH = `${PAGE_ASSET_PREFIX}/callback`;

/**
 * Serves the demo page at `/` (and at the sign-in callback path, where the page finishes a token
 * mode sign-in) and its assets under PAGE_ASSET_PREFIX. The files are read once, here; an asset is
 * found by exact name in a fixed list, so no request path ever reaches the file system. What the
 * page must know reaches it as `data-*` on `<body>`. A configured report file is served at
 * PAGE_ASSET_PREFIX/report.
 */
export function registerPage(app: FastifyInstance, options: PageOptions): void {
  const { login, signIn, report } = options;
  if (login === 'browser' && signIn === undefined) {
    throw new TesseraTypeError(
      'ERR_INVALID_OPTION',
      "registerPage: login 'browser' needs signIn (the issuer and the page's client)",
    );
  }
  const browser = login === 'browser' ? signIn : undefined;
  const { html, assets } = loadPageFiles(
    {
      login,
      mode: options.mode ?? 'public',
      ...(browser === undefined
        ? {}
        : { issuer: browser.issuer, clientId: browser.clientId, scope: browser.scopes.join(' ') }),
    },
    report !== undefined,
  );
  // The page calls the token service itself only when it signs users in itself.
  const headers = pageHeaders(pageCsp(browser === undefined ? [] : [new URL(browser.issuer).origin]));
  const sendHtml = async (_request: unknown, reply: FastifyReply) =>
    reply.headers(headers).type('text/html; charset=utf-8').send(html);

  app.get('/', sendHtml);
  if (browser !== undefined) app.get(PAGE_CALLBACK_PATH, sendHtml);

  app.get(`${PAGE_ASSET_PREFIX}/*`, async (request, reply) => {
    const name = (request.params as { '*'?: string })['*'] ?? '';
    if (name === 'report' && report !== undefined) {
      // Read on every request: each `tessera compare` run writes a new one. The path is the
      // config's, never the request's.
      const body = await readFile(report).catch(() => undefined);
      if (body === undefined)
        return sendError(reply, new HttpError('ERR_HTTP_NOT_FOUND', 'no route matches the request path'));
      return reply.headers(reportHeaders).type('text/html; charset=utf-8').send(body);
    }
    const asset = assets.get(name);
    if (asset === undefined)
      return sendError(reply, new HttpError('ERR_HTTP_NOT_FOUND', 'no route matches the request path'));
    return reply.headers(assetHeaders).type(asset.type).send(asset.body);
  });
}
