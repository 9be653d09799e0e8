import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../context.js';
import { methodNotAllowed } from '../lib/method-not-allowed.js';
import { loadSso } from '../lib/sso.js';
import { cancelInteraction, elsewhere, openFormStep } from './authorize/interaction-form.js';
import { completeWithCode } from './authorize/issue.js';

/**
 * POST /consent, the consent form of /authorize for a third-party client: "approve" ends in a code,
 * anything else in `access_denied`. Only the user who signed in for this interaction, in this
 * browser, may answer it.
 */
async function consent(
  ctx: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const opened = openFormStep(ctx, request, reply);
  if ('refused' in opened) return opened.refused;
  const { form, interaction } = opened;
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
}

export function registerConsent(app: FastifyInstance, ctx: ServiceContext): void {
  app.post('/consent', (request, reply) => consent(ctx, request, reply));
  methodNotAllowed(app, '/consent', ['POST']);
}
