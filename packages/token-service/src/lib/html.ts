import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

// One fixed stylesheet: the CSP allows exactly its hash, so no inline style can be injected.
const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}' +
  'label{display:block;margin:.75rem 0 .25rem}input[type=text],input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}' +
  'button{margin:1rem .5rem 0 0;padding:.5rem 1rem}.error{color:#a00}ul{padding-left:1.2rem}';
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/**
 * Security headers of every page: a strict CSP (nothing but our stylesheet's hash; forms post only
 * to us), no framing by anyone (CSP frame-ancestors and X-Frame-Options, RFC 9700 4.16), no caching.
 */
export function setPageHeaders(reply: FastifyReply, formTargets: readonly string[] = []): void {
  // Browsers apply form-action to the redirect that follows a form POST too, so a page whose form
  // ends in a redirect to the client lists that one origin.
  const targets = formTargets.map((origin) => ` ${origin}`).join('');
  reply.headers({
    'content-security-policy': `default-src 'none'; style-src ${STYLE_HASH}; form-action 'self'${targets}; frame-ancestors 'none'; base-uri 'none'`,
    'x-frame-options': 'DENY',
    'cache-control': 'no-store',
    pragma: 'no-cache',
  });
}

/** A whole HTML document; `body` must already be escaped markup. */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

/** Sends a page with the security headers. */
export function sendPage(
  reply: FastifyReply,
  status: number,
  title: string,
  body: string,
  formTargets: readonly string[] = [],
): FastifyReply {
  setPageHeaders(reply, formTargets);
  return reply.code(status).type('text/html; charset=utf-8').send(htmlPage(title, body));
}

/** An error page: for what must never be redirected (unknown client, unregistered redirect_uri). */
export function sendErrorPage(
  reply: FastifyReply,
  status: number,
  error: string,
  description: string,
): FastifyReply {
  return sendPage(
    reply,
    status,
    'Error',
    `<h1>Request refused</h1><p class="error">${escapeHtml(error)}</p><p>${escapeHtml(description)}</p>`,
  );
}
