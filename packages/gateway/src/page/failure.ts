import { answerFor, escapeHtml } from '@tessera/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pageHeaders } from './headers.js';
import { PAGE_ASSET_PREFIX } from './index.js';

/** A browser's top-level navigation asks for HTML; an API client asking for JSON keeps getting JSON. */
export function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

/**
 * The page a browser ends on when a sign-in through the token service does not complete (the
 * user pressed Cancel there, the sign-in was too slow or started elsewhere, the token service is
 * down): the reason in words and a way back, under the page's strict CSP with no script at all,
 * and the same status the JSON answer would have. The reason is the error's public description
 * (a 5xx has none beyond its code), escaped.
 */
export function sendSignInFailurePage(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
): FastifyReply {
  // The JSON answer's status, headers and message, as a page.
  const { status, headers, body, error: answered } = answerFor(error);
  // Logged as the JSON answer would be: a refusal at info, the gateway's own failure at error.
  const { code } = answered;
  if (status >= 500) request.log.error({ code, status }, 'sign-in failed');
  else request.log.info({ code, status }, 'sign-in refused');
  const reason = body.error.message;
  const html = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Sign-in did not complete</title>',
    `<link rel="stylesheet" href="${PAGE_ASSET_PREFIX}/app.css"></head>`,
    '<body><header><h1>Tessera shop</h1></header>',
    '<main><section class="panel" data-testid="sign-in-failed">',
    '<h2>Sign-in did not complete</h2>',
    `<p data-testid="sign-in-failed-reason">${escapeHtml(reason.charAt(0).toUpperCase() + reason.slice(1))}.</p>`,
    '<p class="actions">',
    '<a class="button" href="/auth/login?return_to=/" data-testid="sign-in-again">Try again</a>',
    '<a href="/" data-testid="back-to-shop">Back to the shop</a>',
    '</p></section></main></body></html>',
  ].join('');
  return reply
    .code(status)
    .headers({ ...headers, ...pageHeaders() })
    .type('text/html; charset=utf-8')
    .send(html);
}
