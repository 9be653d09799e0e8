import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../context.js';
import { type FormBody, requireFormBody } from '../../lib/form-body.js';
import { sendErrorPage, setPageHeaders } from '../../lib/html.js';
import type { Interaction, InteractionRefusal } from '../../lib/interaction.js';
import type { PostHandler } from '../../lib/method-not-allowed.js';
import { OAuthError } from '../../lib/oauth-error.js';
import { redirectWithError, targetOf } from './redirect.js';

// What the two form steps of /authorize (POST /login, POST /consent) share: the sealed
// interaction their form carries, the pages that refuse one, and the user's "cancel".

/** The page for a form that belongs to another browser, a step already taken or a client gone. */
export function elsewhere(reply: FastifyReply): FastifyReply {
  return sendErrorPage(
    reply,
    403,
    'invalid_request',
    'This form has expired or was not sent from this browser. Start again from the application.',
  );
}

const REFUSAL_PAGES: Readonly<Record<InteractionRefusal, (reply: FastifyReply) => FastifyReply>> = {
  damaged: (reply) =>
    sendErrorPage(
      reply,
      400,
      'invalid_request',
      'This form could not be read. Start again from the application.',
    ),
  expired: (reply) =>
    sendErrorPage(reply, 400, 'invalid_request', 'This form has expired. Start again from the application.'),
  elsewhere,
};

/** A form step's POST whose interaction this browser may answer. */
export interface OpenedForm {
  readonly form: FormBody;
  readonly sealed: string;
  readonly interaction: Interaction;
}

/** The interaction a form POST carries, checked against this browser's cookie and the CSRF token; or why it is refused. */
function formInteraction(
  ctx: ServiceContext,
  request: FastifyRequest,
): OpenedForm | { refused: InteractionRefusal } {
  let form: FormBody;
  try {
    form = requireFormBody(request.body);
  } catch {
    return { refused: 'damaged' };
  }
  if (form.repeated.length > 0) return { refused: 'damaged' };
  const sealed = form.get('interaction');
  const opened = ctx.interactions.open(request, sealed, form.get('csrf'));
  if (!opened.ok || sealed === undefined) return { refused: opened.ok ? 'damaged' : opened.refusal };
  return { form, sealed, interaction: opened.interaction };
}

/**
 * Opens the POST of a form step (login, consent): the page headers set, then its interaction, or
 * (`refused`) the page refusing it, already sent.
 */
function openFormStep(
  ctx: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
): OpenedForm | { readonly refused: FastifyReply } {
  setPageHeaders(reply);
  const found = formInteraction(ctx, request);
  return 'refused' in found ? { refused: REFUSAL_PAGES[found.refused](reply) } : found;
}

/** A form step's POST handler: `step` runs on the opened interaction; a refused one is already answered. */
export function formStep(
  step: (
    ctx: ServiceContext,
    request: FastifyRequest,
    reply: FastifyReply,
    opened: OpenedForm,
  ) => Promise<FastifyReply>,
): PostHandler {
  return async (ctx, request, reply) => {
    const opened = openFormStep(ctx, request, reply);
    return 'refused' in opened ? opened.refused : step(ctx, request, reply, opened);
  };
}

/** The user said no: the interaction ends and the client hears `access_denied`. */
export function cancelInteraction(
  ctx: ServiceContext,
  reply: FastifyReply,
  interaction: Interaction,
): FastifyReply {
  ctx.interactions.finish(reply);
  return redirectWithError(
    ctx,
    reply,
    targetOf(interaction.request),
    new OAuthError('access_denied', 'the user denied the request'),
  );
}
