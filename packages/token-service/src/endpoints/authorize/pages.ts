import { escapeHtml } from '@tessera/core';
import type { FastifyReply } from 'fastify';
import type { ServiceContext } from '../../context.js';
import { sendPage } from '../../lib/html.js';
import type { AuthorizationRequest } from '../../lib/interaction.js';

function hidden(interaction: string, csrf: string): string {
  return `<input type="hidden" name="interaction" value="${escapeHtml(interaction)}"><input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`;
}

// The form ends in a redirect to the client: CSP form-action must name its origin too.
function formTargets(request: AuthorizationRequest): string[] {
  return [new URL(request.redirectUri).origin];
}

/** What a login form shows and posts: `action` is the path it posts to. */
export interface LoginForm {
  readonly action: string;
  readonly interaction: string;
  readonly csrf: string;
  readonly clientName: string;
  readonly message?: string;
  readonly username?: string;
}

/** The login form's markup, for /authorize and the device page alike: `username`, `password`; "cancel" refuses. */
export function loginFormBody(form: LoginForm): string {
  const message =
    form.message === undefined ? '' : `<p class="error" role="alert">${escapeHtml(form.message)}</p>`;
  return (
    `<h1>Sign in</h1><p>to continue to ${escapeHtml(form.clientName)}</p>${message}` +
    `<form method="post" action="${escapeHtml(form.action)}">` +
    hidden(form.interaction, form.csrf) +
    `<label for="username">Username</label><input type="text" id="username" name="username" autocomplete="username" required value="${escapeHtml(form.username ?? '')}">` +
    '<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>' +
    '<button type="submit" name="action" value="login">Sign in</button>' +
    '<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button></form>'
  );
}

/** The consent form's markup: the client's name, what it asks for, Allow (`approve`) or Deny. */
export function consentFormBody(form: {
  readonly action: string;
  readonly interaction: string;
  readonly csrf: string;
  readonly clientName: string;
  readonly scopes: readonly string[];
  /** Markup said before the scopes (already escaped). */
  readonly note?: string;
}): string {
  const scopes = form.scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`).join('');
  return (
    `<h1>Allow access?</h1>${form.note ?? ''}<p>${escapeHtml(form.clientName)} asks for:</p><ul>${scopes}</ul>` +
    `<form method="post" action="${escapeHtml(form.action)}">` +
    hidden(form.interaction, form.csrf) +
    '<button type="submit" name="action" value="approve">Allow</button>' +
    '<button type="submit" name="action" value="cancel">Deny</button></form>'
  );
}

/** A path beside /authorize (the issuer may have a path of its own). */
export function pathBesideAuthorize(ctx: ServiceContext, name: string): string {
  return new URL(ctx.endpoints.authorization).pathname.replace(/authorize$/, name);
}

/** The login form: fields `username` and `password`; "cancel" ends with access_denied. */
export function sendLoginPage(
  ctx: ServiceContext,
  reply: FastifyReply,
  options: {
    readonly status: number;
    readonly interaction: string;
    readonly csrf: string;
    readonly request: AuthorizationRequest;
    readonly clientName: string;
    readonly message?: string;
    readonly username?: string;
  },
): FastifyReply {
  const { status, request, ...form } = options;
  const body = loginFormBody({ ...form, action: pathBesideAuthorize(ctx, 'login') });
  return sendPage(reply, status, 'Sign in', body, formTargets(request));
}

/** The consent page: the client's name and the scopes it asks for. */
export function sendConsentPage(
  ctx: ServiceContext,
  reply: FastifyReply,
  options: {
    readonly interaction: string;
    readonly csrf: string;
    readonly request: AuthorizationRequest;
    readonly clientName: string;
  },
): FastifyReply {
  const body = consentFormBody({
    action: pathBesideAuthorize(ctx, 'consent'),
    interaction: options.interaction,
    csrf: options.csrf,
    clientName: options.clientName,
    scopes: options.request.scopes,
  });
  return sendPage(reply, 200, 'Allow access', body, formTargets(options.request));
}
