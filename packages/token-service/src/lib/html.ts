import { createHash } from 'node:crypto';
import { escapeHtml } from '@tessera/core';
import type { FastifyReply } from 'fastify';

// One fixed stylesheet: the CSP allows exactly its hash, so no inline style can be injected. It
// has the look of the gateway's shop page (packages/gateway/src/page/assets/app.css): the same
// ink, paper and accent, header rule and buttons; a card of its own that fits a 390 px phone.
const STYLE = [
  '*,*::before,*::after{box-sizing:border-box}',
  ':root{--ink:#1d1f24;--muted:#5d6270;--line:#d6d9e0;--accent:#8a2b1e;--paper:#fbfaf7;font-family:system-ui,sans-serif;color:var(--ink);background:var(--paper)}',
  'body{max-width:28rem;margin:0 auto;padding:1rem 1rem 3rem;line-height:1.4;overflow-wrap:anywhere}',
  'header{display:flex;align-items:baseline;gap:.6rem;border-bottom:2px solid var(--accent);margin-bottom:1.5rem}',
  '.brand{margin:.5rem 0;font-size:1.6rem;font-weight:700;color:var(--accent)}.where{color:var(--muted)}',
  'main{padding:.5rem 1.2rem 1.2rem;border:1px solid var(--line);border-radius:6px;background:white}',
  'h1{font-size:1.4rem;margin:.6rem 0}',
  'label{display:block;margin:.75rem 0 .25rem}',
  'input[type=text],input[type=password]{width:100%;padding:.5rem;font:inherit;border:1px solid var(--line);border-radius:4px}',
  'form{display:flex;flex-wrap:wrap;gap:0 .6rem}form label,form input{flex-basis:100%}',
  'button{margin:1rem 0 0;padding:.4rem 1rem;font:inherit;border:1px solid var(--accent);border-radius:4px;background:var(--accent);color:white;cursor:pointer}',
  'button[value=cancel]{background:white;color:var(--accent)}',
  '.error{color:#a00;padding:.5rem .8rem;border:1px solid #e0a39b;border-radius:4px;background:#fdecea}',
  'ul{padding-left:1.2rem}code{font-family:ui-monospace,monospace}',
].join('');
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
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><header><span class="brand">Tessera</span><span class="where">sign-in</span></header><main>${body}</main></body></html>`;
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
