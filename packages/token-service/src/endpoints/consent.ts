import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ServiceContext } from '../context.js';
import { postEndpoint } from '../lib/method-not-allowed.js';
import { loadSso } from '../lib/sso.js';
import { cancelInteraction, elsewhere, formStep } from './authorize/interaction-form.js';
import { completeWithCode } from './authorize/issue.js';

/**
 * POST /consent, the consent form of /authorize for a third-party client: "approve" ends in a code,
 * anything else in `access_denied`. Only the user who signed in for this interaction, in this
 * browser, may answer it.
 */
const consent = formStep(async (ctx, request, reply, { form, interaction }): Promise<FastifyReply> => {
  if (interaction.userId === undefined) return elsewhere(reply);
  const sso = await loadSso(ctx.sso, request, reply);
  const session = sso.current;
  if (session === null || session.userId !== interaction.userId) return elsewhere(reply);
  if (form.get('action') !== 'approve') return cancelInteraction(ctx, reply, interaction);
  ctx.interactions.finish(reply);
  return completeWithCode(ctx, reply, interaction.request, {
    userId: session.userId,
    sid: session.data.sid,
    authTime: session.data.authTime,
  });
});

export function registerConsent(app: FastifyInstance, ctx: ServiceContext): void {
  postEndpoint(app, ctx, '/consent', consent);
}
