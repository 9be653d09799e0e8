import { escapeHtml, sha256Base64url } from '@tessera/core';
import { normalizeAddress } from '@tessera/identity';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../context.js';
import { type FormBody, requireFormBody } from '../../lib/form-body.js';
import { sendErrorPage, sendPage, setPageHeaders } from '../../lib/html.js';
import type { Interaction } from '../../lib/interaction.js';
import { methodNotAllowed, type PostHandler, postEndpoint } from '../../lib/method-not-allowed.js';
import { signInWithPassword } from '../../lib/password-sign-in.js';
import { loadSso } from '../../lib/sso.js';
import { type DeviceGrantRecord, normalizeUserCode } from '../../store/device-codes.js';
import { consentFormBody, loginFormBody, pathBesideAuthorize } from '../authorize/pages.js';
import type { DeviceInteraction } from './interaction.js';

// The user-code page of the device grant (RFC 8628 3.3): GET /device shows the code entry form
// (filled in from `?user_code=`), POST /device finds the authorization, then the user signs in
// (POST /device/login, the same login form and SSO session as /authorize) unless already signed
// in, and approves or denies (POST /device/consent). The device is always confirmed, even for a
// first-party client: the user must check that the code is the one their device shows (RFC 8628
// 5.4, remote phishing).

/** Wrong user codes one client address may enter per window before the page refuses (429). */
export const USER_CODE_ATTEMPTS = 10;
export const USER_CODE_WINDOW_MS = 15 * 60 * 1000;

/** The store key counting one client address's code entries (its /64 for IPv6). */
export const userCodeAttemptsKey = (address: string): string =>
  `device-code-attempts:${sha256Base64url(normalizeAddress(address))}`;

function codeEntryBody(ctx: ServiceContext, userCode: string, message?: string): string {
  const error = message === undefined ? '' : `<p class="error" role="alert">${escapeHtml(message)}</p>`;
  return (
    `<h1>Connect a device</h1><p>Enter the code your device shows.</p>${error}` +
    `<form method="post" action="${escapeHtml(pathBesideAuthorize(ctx, 'device'))}">` +
    `<label for="user_code">Code</label><input type="text" id="user_code" name="user_code" autocomplete="off" autocapitalize="characters" spellcheck="false" required value="${escapeHtml(userCode)}">` +
    '<button type="submit" name="action" value="continue">Continue</button></form>'
  );
}

function sendCodeEntry(
  ctx: ServiceContext,
  reply: FastifyReply,
  status: number,
  userCode: string,
  message?: string,
): FastifyReply {
  return sendPage(reply, status, 'Connect a device', codeEntryBody(ctx, userCode, message));
}

function sendDone(reply: FastifyReply, status: number, title: string, text: string): FastifyReply {
  return sendPage(reply, status, title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>`);
}

const usable = (ctx: ServiceContext, record: DeviceGrantRecord | undefined): record is DeviceGrantRecord =>
  record !== undefined && record.status === 'pending' && record.expiresAt > ctx.now();

async function clientName(ctx: ServiceContext, clientId: string): Promise<string> {
  const client = await ctx.clients.find(clientId);
  return client?.client_name ?? clientId;
}

async function sendApproval(
  ctx: ServiceContext,
  reply: FastifyReply,
  device: DeviceInteraction,
  userId: string,
): Promise<FastifyReply> {
  const next = ctx.deviceInteractions.start(device, reply, userId);
  const body = consentFormBody({
    action: pathBesideAuthorize(ctx, 'device/consent'),
    interaction: next.sealed,
    csrf: next.csrf,
    clientName: await clientName(ctx, device.clientId),
    scopes: device.scopes,
    note: `<p>A device showing the code <strong>${escapeHtml(device.userCode)}</strong> wants to sign in as you. Allow it only if you started this and your device shows this code.</p>`,
  });
  return sendPage(reply, 200, 'Allow access', body);
}

async function sendLogin(
  ctx: ServiceContext,
  reply: FastifyReply,
  options: {
    readonly status: number;
    readonly device: DeviceInteraction;
    readonly sealed?: string;
    readonly csrf?: string;
    readonly message?: string;
    readonly username?: string;
  },
): Promise<FastifyReply> {
  const { status, device, sealed, csrf, ...rest } = options;
  const step =
    sealed === undefined || csrf === undefined
      ? ctx.deviceInteractions.start(device, reply)
      : { sealed, csrf };
  const body = loginFormBody({
    ...rest,
    action: pathBesideAuthorize(ctx, 'device/login'),
    interaction: step.sealed,
    csrf: step.csrf,
    clientName: await clientName(ctx, device.clientId),
  });
  return sendPage(reply, status, 'Sign in', body);
}

function showPage(ctx: ServiceContext, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const query = request.query as Record<string, unknown>;
  const given = typeof query.user_code === 'string' ? query.user_code.slice(0, 32) : '';
  return sendCodeEntry(ctx, reply, 200, given);
}

/** POST /device: the code entered, bounded per client address (user codes are short, so guessable in bulk). */
async function enterCode(
  ctx: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  let form: FormBody;
  try {
    form = requireFormBody(request.body);
  } catch {
    return sendCodeEntry(ctx, reply, 400, '', 'Enter the code your device shows.');
  }
  const typed = (form.get('user_code') ?? '').slice(0, 32);
  // The attempt is counted before the lookup, atomically, so concurrent guesses cannot all pass
  // one read of the counter; a good code gives its attempt back.
  const key = userCodeAttemptsKey(request.ip);
  const attempts = await ctx.store.increment(key, 1, { ttlMs: USER_CODE_WINDOW_MS });
  if (attempts > USER_CODE_ATTEMPTS) {
    reply.header('retry-after', String(Math.ceil(USER_CODE_WINDOW_MS / 1000)));
    return sendCodeEntry(ctx, reply, 429, typed, 'Too many wrong codes. Try again later.');
  }
  const normalized = normalizeUserCode(typed);
  const record = normalized === undefined ? undefined : await ctx.devices.findByUserCode(normalized);
  if (!usable(ctx, record) || normalized === undefined) {
    return sendCodeEntry(
      ctx,
      reply,
      400,
      typed,
      'That code is not valid, or it has expired. Check your device.',
    );
  }
  await ctx.store.increment(key, -1, { ttlMs: USER_CODE_WINDOW_MS });
  const device: DeviceInteraction = {
    deviceCodeHash: record.deviceCodeHash,
    clientId: record.clientId,
    scopes: record.scopes,
    userCode: `${normalized.slice(0, 4)}-${normalized.slice(4)}`,
  };
  const sso = await loadSso(ctx.sso, request, reply);
  if (sso.current !== null) return sendApproval(ctx, reply, device, sso.current.userId);
  return sendLogin(ctx, reply, { status: 200, device });
}

interface DeviceForm {
  readonly form: FormBody;
  readonly sealed: string;
  readonly interaction: Interaction<DeviceInteraction>;
}

/** The sealed device interaction a form carries, or the page refusing it. */
function formInteraction(
  ctx: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
): DeviceForm | FastifyReply {
  let form: FormBody | undefined;
  try {
    form = requireFormBody(request.body);
  } catch {
    form = undefined;
  }
  const sealed = form?.get('interaction');
  const opened =
    form === undefined ? undefined : ctx.deviceInteractions.open(request, sealed, form.get('csrf'));
  if (form === undefined || sealed === undefined || opened === undefined || !opened.ok) {
    const refusal = opened === undefined || opened.ok ? 'damaged' : opened.refusal;
    const text =
      refusal === 'expired'
        ? 'This form has expired. Enter the code again.'
        : refusal === 'elsewhere'
          ? 'This form was not sent from this browser. Enter the code again.'
          : 'This form could not be read. Enter the code again.';
    return sendErrorPage(reply, refusal === 'elsewhere' ? 403 : 400, 'invalid_request', text);
  }
  return { form, sealed, interaction: opened.interaction };
}

/** A device form step's POST handler: `step` runs on the opened interaction; a refused one is already answered. */
function deviceFormStep(
  step: (
    ctx: ServiceContext,
    request: FastifyRequest,
    reply: FastifyReply,
    opened: DeviceForm,
  ) => Promise<FastifyReply>,
): PostHandler {
  return async (ctx, request, reply) => {
    setPageHeaders(reply);
    const found = formInteraction(ctx, request, reply);
    return 'form' in found ? step(ctx, request, reply, found) : found;
  };
}

async function deny(
  ctx: ServiceContext,
  reply: FastifyReply,
  device: DeviceInteraction,
): Promise<FastifyReply> {
  ctx.deviceInteractions.finish(reply);
  await ctx.devices.decide(device.deviceCodeHash, 'denied');
  return sendDone(reply, 200, 'Access denied', 'The device was not allowed. You can close this page.');
}

/**
 * The grant is made at approval, under the SSO session's sid, so ending that session (a logout, a
 * disabled user) revokes it as it does a code flow's grant, even before the device has polled.
 * False when the authorization was answered or expired meanwhile (the grant made is revoked).
 */
async function approve(
  ctx: ServiceContext,
  device: DeviceInteraction,
  userId: string,
  session: { readonly sid: string; readonly authTime: number },
): Promise<boolean> {
  const record = await ctx.devices.findByHash(device.deviceCodeHash);
  if (!usable(ctx, record)) return false;
  const grant = await ctx.grants.create({
    userId,
    clientId: record.clientId,
    scopes: record.scopes,
    audiences: record.audiences,
    sid: session.sid,
    authTime: session.authTime,
    expiresAt: ctx.now() + ctx.options.refreshTokenAbsoluteLifetime * 1000,
  });
  const approval = { userId, sid: session.sid, authTime: session.authTime, grantId: grant.id };
  if (await ctx.devices.decide(device.deviceCodeHash, approval)) return true;
  await ctx.grants.revokeGrant(grant.id);
  return false;
}

const deviceLogin = deviceFormStep(async (ctx, request, reply, { form, sealed, interaction }) => {
  const device = interaction.request;
  if (form.get('action') === 'cancel') return deny(ctx, reply, device);
  if (!usable(ctx, await ctx.devices.findByHash(device.deviceCodeHash))) {
    ctx.deviceInteractions.finish(reply);
    return sendDone(
      reply,
      400,
      'Code expired',
      'This code has expired or was already used. Start again on your device.',
    );
  }
  const signedIn = await signInWithPassword(ctx, request, reply, form);
  if (!signedIn.ok) {
    return sendLogin(ctx, reply, {
      status: signedIn.status,
      device,
      sealed,
      csrf: interaction.csrf,
      message: signedIn.message,
      username: form.get('username') ?? '',
    });
  }
  return sendApproval(ctx, reply, device, signedIn.userId);
});

const deviceConsent = deviceFormStep(async (ctx, request, reply, { form, interaction }) => {
  const device = interaction.request;
  const sso = await loadSso(ctx.sso, request, reply);
  const session = sso.current;
  // The approval is given by the user who signed in for this interaction, in this browser.
  if (interaction.userId === undefined || session === null || session.userId !== interaction.userId) {
    return sendErrorPage(
      reply,
      403,
      'invalid_request',
      'This form was not sent from this browser. Enter the code again.',
    );
  }
  if (form.get('action') !== 'approve') return deny(ctx, reply, device);
  ctx.deviceInteractions.finish(reply);
  if (!(await approve(ctx, device, session.userId, session.data))) {
    return sendDone(
      reply,
      400,
      'Code expired',
      'This code has expired or was already used. Start again on your device.',
    );
  }
  return sendDone(reply, 200, 'Device connected', 'You can close this page and return to your device.');
});

export function registerDevicePage(app: FastifyInstance, ctx: ServiceContext): void {
  app.get('/device', async (request, reply) => showPage(ctx, request, reply));
  app.post('/device', (request, reply) => enterCode(ctx, request, reply));
  methodNotAllowed(app, '/device', ['GET', 'POST']);
  postEndpoint(app, ctx, '/device/login', deviceLogin);
  postEndpoint(app, ctx, '/device/consent', deviceConsent);
}
