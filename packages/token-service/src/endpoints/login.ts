import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ServiceContext } from '../context.js';
import { postEndpoint } from '../lib/method-not-allowed.js';
import { signInWithPassword } from '../lib/password-sign-in.js';
import { cancelInteraction, elsewhere, formStep } from './authorize/interaction-form.js';
import { completeWithCode } from './authorize/issue.js';
import { sendConsentPage, sendLoginPage } from './authorize/pages.js';

/**
 * POST /login, the login form of /authorize: the username and password against the user
 * directory (rate limited), then a code at once for a first-party client, or the consent page.
 * The client is read once, for its name on the page and whether it is first party; one that is
 * gone since the form was sent is refused before any credential is checked.
 */
const login = formStep(async (ctx, request, reply, { form, sealed, interaction }): Promise<FastifyReply> => {
  if (form.get('action') === 'cancel') return cancelInteraction(ctx, reply, interaction);
  const client = await ctx.clients.find(interaction.request.clientId);
  if (client === undefined) return elsewhere(reply);
  const clientName = client.client_name ?? client.client_id;
  const signedIn = await signInWithPassword(ctx, request, reply, form, client.client_id);
  if (!signedIn.ok) {
    return sendLoginPage(ctx, reply, {
      status: signedIn.status,
      message: signedIn.message,
      interaction: sealed,
      csrf: interaction.csrf,
      request: interaction.request,
      clientName,
      username: form.get('username') ?? '',
    });
  }
  const { userId } = signedIn;
  if (client.first_party) {
    ctx.interactions.finish(reply);
    return completeWithCode(ctx, reply, interaction.request, {
      userId,
      sid: signedIn.sid,
      authTime: signedIn.authTime,
    });
  }
  // The next step gets a new binding cookie: the login form cannot be posted again after this.
  const next = ctx.interactions.start(interaction.request, reply, userId);
  return sendConsentPage(ctx, reply, {
    interaction: next.sealed,
    csrf: next.csrf,
    request: interaction.request,
    clientName,
  });
});

export function registerLogin(app: FastifyInstance, ctx: ServiceContext): void {
  postEndpoint(app, ctx, '/login', login);
}
