import type { ServiceContext } from '../../../context.js';
import { resolveAudience } from '../../../lib/audience.js';
import type { FormBody } from '../../../lib/form-body.js';
import { OAuthError } from '../../../lib/oauth-error.js';
import { isValidVerifier, verifierMatches } from '../../../lib/pkce.js';
import { revokeGrants } from '../../../lib/revocation.js';
import type { TokenHolder } from '../../../lib/token-holder.js';
import type { AuthorizationCodeRecord } from '../../../store/authorization-codes.js';
import type { Client } from '../../../store/client.js';
import type { GrantHandler } from '../types.js';
import { issueForCodeGrant } from './user-tokens.js';

const invalidGrant = (description: string): OAuthError => new OAuthError('invalid_grant', description);

/** RFC 7636 4.1: checked before the code is touched, so a malformed verifier does not burn it. */
function wellFormedVerifier(form: FormBody): string | undefined {
  const verifier = form.get('code_verifier');
  if (verifier !== undefined && !isValidVerifier(verifier)) {
    throw new OAuthError('invalid_request', 'code_verifier must be 43-128 characters of [A-Za-z0-9-._~]');
  }
  return verifier;
}

/**
 * RFC 6749 4.1.2: a code used twice fails, and the tokens of its first use are revoked (the grant,
 * its refresh family, every access token issued under it) (RFC 9700 4.2.4).
 */
async function consumeCode(ctx: ServiceContext, code: string): Promise<AuthorizationCodeRecord> {
  const redemption = await ctx.codes.redeem(code);
  if (redemption.outcome === 'unknown') throw invalidGrant('the code is invalid');
  if (redemption.outcome === 'reused') {
    await revokeGrants(ctx, { grantId: redemption.code.grantId });
    throw invalidGrant('the code was already used');
  }
  return redemption.code;
}

/** RFC 6749 4.1.3: issued to this client, unexpired, the same redirect_uri as at /authorize. */
function boundToRequest(
  ctx: ServiceContext,
  record: AuthorizationCodeRecord,
  client: Client,
  form: FormBody,
): void {
  if (record.clientId !== client.client_id) throw invalidGrant('the code was issued to another client');
  if (record.expiresAt <= ctx.now()) throw invalidGrant('the code has expired');
  if (form.get('redirect_uri') !== record.redirectUri) throw invalidGrant('redirect_uri does not match');
}

/** RFC 7636 4.6; a verifier sent for a code issued without a challenge is a downgrade (RFC 9700 4.8.2). */
function pkceMatches(record: AuthorizationCodeRecord, verifier: string | undefined): void {
  if (record.codeChallenge === undefined) {
    if (verifier !== undefined) throw invalidGrant('no code_challenge was sent for this code');
    return;
  }
  if (verifier === undefined) throw invalidGrant('code_verifier is required');
  if (!verifierMatches(verifier, record.codeChallenge)) throw invalidGrant('code_verifier does not match');
}

/**
 * RFC 9449 10: a code whose request named `dpop_jkt` is redeemed only with a proof of that key,
 * so a code taken on its way back to the client is worthless without the client's key.
 */
function provesCodeKey(record: AuthorizationCodeRecord, holder: TokenHolder): void {
  if (record.dpopJkt === undefined) return;
  const jkt = holder.claims.dpopJkt;
  if (jkt === undefined) throw invalidGrant('the code is bound to a DPoP key: send a proof of it');
  if (jkt !== record.dpopJkt) throw invalidGrant('the DPoP proof is of another key than dpop_jkt');
}

export const authorizationCodeGrant: GrantHandler = async ({ ctx, form, client: { client }, holder }) => {
  const code = form.get('code');
  if (code === undefined) throw new OAuthError('invalid_request', 'code is required');
  const verifier = wellFormedVerifier(form);
  const record = await consumeCode(ctx, code);
  boundToRequest(ctx, record, client, form);
  pkceMatches(record, verifier);
  provesCodeKey(record, holder);
  return issueForCodeGrant(ctx, record.grantId, {
    client,
    audienceOf: (grant) => resolveAudience(form, grant.audiences),
    nonce: record.nonce,
    holder,
  });
};
