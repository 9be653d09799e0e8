import { readFileSync } from 'node:fs';
import { escapeHtml } from '@tessera/core';
import type { PageLogin } from './index.js';

export interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

export interface PageFiles {
  readonly html: string;
  /** By name under the asset prefix: the only names that are ever served. */
  readonly assets: ReadonlyMap<string, Asset>;
}

/** What the page is told about the gateway, written into `<body data-*>`. */
export interface PageData {
  readonly login: PageLogin;
  /** The routes' auth mode (`token`, `session`, `hybrid`, `public`, or `mixed`). */
  readonly mode: string;
  /** Token mode's sign-in: the token service and the public client the page signs in as. */
  readonly issuer?: string;
  readonly clientId?: string;
  readonly scope?: string;
}

/**
 * `src/page/assets/` of this package, from `src/page/` (tests) and `dist/page/` (built) alike: both
 * are two levels below the package root, and `src/` is published with the package.
 */
const assetDirectory = new URL('../../src/page/assets/', import.meta.url);

const served: readonly (readonly [name: string, type: string])[] = [
  ['app.js', 'text/javascript; charset=utf-8'],
  ['app.css', 'text/css; charset=utf-8'],
];

/** The page's link to the comparison report, when the gateway serves one. */
const REPORT_LINK =
  '  <footer><a id="report-link" data-testid="report-link" href="/_tessera/report">The latest comparison of the modes (tessera compare)</a></footer>\n';

const read = (name: string): Buffer => readFileSync(new URL(name, assetDirectory));

/**
 * Reads the page and its assets once; what the page must know is written into `<body data-*>`,
 * and the link to the comparison report is shown only when there is one to serve.
 */
export function loadPageFiles(data: PageData, report = false): PageFiles {
  const values: Record<string, string> = {
    login: data.login,
    mode: data.mode,
    issuer: data.issuer ?? '',
    clientId: data.clientId ?? '',
    scope: data.scope ?? '',
  };
  const html = read('index.html')
    .toString('utf8')
    .replace('{{report-link}}\n', report ? REPORT_LINK : '')
    .replace(/\{\{(\w+)\}\}/g, (_match, name: string) => escapeHtml(values[name] ?? ''));
  const assets = new Map(served.map(([name, type]) => [name, { type, body: read(name) }] as const));
  return { html, assets };
}
