import type { ServiceContext } from '../context.js';
import { publishRevocation, revocationHorizon, revokeGrants } from './revocation.js';

/**
 * What the service does when a user of its directory is disabled or deleted (the directory's
 * `onUserDeactivated`): the user's SSO sessions end, every live grant is revoked (with its access
 * tokens), a `sub` revocation event is published, and every client holding one of those grants
 * that registered a back-channel logout URI gets a Logout Token per session.
 */
export async function endUserSessions(ctx: ServiceContext, userId: string): Promise<void> {
  const holders = await ctx.grants.liveGrantHolders({ userId });
  await ctx.sso.destroyAllForUser(userId);
  await revokeGrants(ctx, { userId });
  ctx.backchannel.send(holders);
  await publishRevocation(ctx, { kind: 'sub', value: userId, until: revocationHorizon(ctx) });
}
