import type { FastifyReply } from 'fastify';
import type { ServiceContext } from '../../context.js';
import { escapeHtml, sendPage } from '../../lib/html.js';
import type { AuthorizationRequest } from '../../lib/interaction.js';

function hidden(interaction: string, csrf: string): string {
  return `<input type="hidden" name="interaction" value="${escapeHtml(interaction)}"><input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`;
}

// The form ends in a redirect to the client: CSP form-action must name its origin too.
function formTargets(request: AuthorizationRequest): string[] {
  return [new URL(request.redirectUri).origin];
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
  const message =
    options.message === undefined ? '' : `<p class="error" role="alert">${escapeHtml(options.message)}</p>`;
  const body =
    `<h1>Sign in</h1><p>to continue to ${escapeHtml(options.clientName)}</p>${message}` +
    `<form method="post" action="${escapeHtml(new URL(ctx.endpoints.authorization).pathname.replace(/authorize$/, 'login'))}">` +
    hidden(options.interaction, options.csrf) +
    `<label for="username">Username</label><input type="text" id="username" name="username" autocomplete="username" required value="${escapeHtml(options.username ?? '')}">` +
    '<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>' +
    '<button type="submit" name="action" value="login">Sign in</button>' +
    '<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button></form>';
  return sendPage(reply, options.status, 'Sign in', body, formTargets(options.request));
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
  const scopes = options.request.scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`).join('');
  const body =
    `<h1>Allow access?</h1><p>${escapeHtml(options.clientName)} asks for:</p><ul>${scopes}</ul>` +
    `<form method="post" action="${escapeHtml(new URL(ctx.endpoints.authorization).pathname.replace(/authorize$/, 'consent'))}">` +
    hidden(options.interaction, options.csrf) +
    '<button type="submit" name="action" value="approve">Allow</button>' +
    '<button type="submit" name="action" value="cancel">Deny</button></form>';
  return sendPage(reply, 200, 'Allow access', body, formTargets(options.request));
}
