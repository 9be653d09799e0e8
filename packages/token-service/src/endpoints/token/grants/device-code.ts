import type { ServiceContext } from '../../../context.js';
import { resolveAudience } from '../../../lib/audience.js';
import { OAuthError } from '../../../lib/oauth-error.js';
import { revokeGrants } from '../../../lib/revocation.js';
import type { DeviceGrantRecord } from '../../../store/device-codes.js';
import { hashToken } from '../../../store/grants.js';
import type { GrantHandler } from '../types.js';
import { issueForCodeGrant } from './user-tokens.js';

const invalidGrant = (description: string): OAuthError => new OAuthError('invalid_grant', description);

/** The device code's authorization, when it exists and was issued to this client. */
async function findAuthorization(
  ctx: ServiceContext,
  code: string,
  clientId: string,
): Promise<DeviceGrantRecord> {
  // A device code is 43 base64url characters; anything much longer is not one of ours.
  const record = code.length > 512 ? undefined : await ctx.devices.findByHash(hashToken(code));
  if (record === undefined) throw invalidGrant('the device code is invalid');
  // Another client's code: refused without touching it (its polling state stays as it was).
  if (record.clientId !== clientId) throw invalidGrant('the device code was issued to another client');
  return record;
}

/** A second redemption fails, and revokes what the first one was issued (as a reused code does). */
async function alreadyUsed(ctx: ServiceContext, record: DeviceGrantRecord): Promise<never> {
  if (record.grantId !== undefined) await revokeGrants(ctx, { grantId: record.grantId });
  throw invalidGrant('the device code was already used');
}

/**
 * RFC 8628 3.4-3.5: while the user has not answered, `authorization_pending`, or `slow_down` (and
 * 5 more seconds of interval, kept in SQL so every instance agrees) when polled sooner than the
 * interval; `access_denied` once denied; `expired_token` after `expires_in`. Approved, the code is
 * redeemed once by a conditional UPDATE, and the tokens are those of the grant made at approval.
 */
export const deviceCodeGrant: GrantHandler = async ({ ctx, form, client: { client }, holder }) => {
  const code = form.get('device_code');
  if (code === undefined) throw new OAuthError('invalid_request', 'device_code is required');
  const record = await findAuthorization(ctx, code, client.client_id);
  if (record.consumedAt !== undefined) return alreadyUsed(ctx, record);
  const now = ctx.now();
  if (record.expiresAt <= now) throw new OAuthError('expired_token', 'the device code has expired');
  if (record.status === 'denied') throw new OAuthError('access_denied', 'the user denied the device');
  if (record.status === 'pending') {
    const tooSoon = record.lastPolledAt !== undefined && now - record.lastPolledAt < record.intervalS * 1000;
    await ctx.devices.recordPoll(record.deviceCodeHash, tooSoon);
    if (tooSoon) throw new OAuthError('slow_down', `poll at most every ${record.intervalS + 5} seconds`);
    throw new OAuthError('authorization_pending', 'the user has not answered yet');
  }
  // Checked before the code is used up: a refused audience leaves it redeemable.
  const audience = resolveAudience(form, record.audiences);
  if (!(await ctx.devices.consume(record.deviceCodeHash))) return alreadyUsed(ctx, record);
  return issueForCodeGrant(ctx, record.grantId, {
    client,
    audienceOf: () => audience,
    nonce: undefined,
    holder,
  });
};
