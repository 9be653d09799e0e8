import { afterEach, describe, expect, it } from 'vitest';
import { databases } from '../../../test/support/databases.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import type { ServiceContext } from '../src/context.js';
import { CODE_REPLAY_WINDOW_MS, purgeRecords } from '../src/lib/purge.js';
import { revokeAccessToken } from '../src/lib/revocation.js';
import { internalContext } from './support/internals.js';

const minute = 60_000;
const start = Date.UTC(2031, 0, 1);

/** Row counts of the tables the purge touches. */
async function counts(ctx: ServiceContext): Promise<Record<string, number>> {
  const db = ctx.db.withTables<Record<string, Record<string, unknown>>>();
  const out: Record<string, number> = {};
  for (const table of [
    'oauth_authorization_codes',
    'oauth_device_codes',
    'oauth_grant_access_tokens',
    'oauth_refresh_tokens',
    'oauth_grants',
    'oauth_revoked_tokens',
  ]) {
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    out[table] = Number(row.n);
  }
  return out;
}

/**
 * One grant that ends at `start + 60 min` with a refresh token idle until `start + 10 min`, an
 * access token and a revocation entry until `start + 5 min`, a code until `start + 1 min`; and one
 * grant that lives on (a day) with the same kinds of records living on.
 */
async function seed(ctx: ServiceContext): Promise<void> {
  const grant = (expiresAt: number) =>
    ctx.grants.create({
      userId: 'alice',
      clientId: 'web',
      scopes: ['openid'],
      audiences: ['orders'],
      sid: undefined,
      authTime: Math.floor(start / 1000),
      expiresAt,
    });
  const ending = await grant(start + 60 * minute);
  const living = await grant(start + 24 * 60 * minute);
  await ctx.grants.addRefreshToken(ending.id, 10 * minute);
  await ctx.grants.addRefreshToken(living.id, 24 * 60 * minute);
  const soon = Math.floor((start + 5 * minute) / 1000);
  const later = Math.floor((start + 24 * 60 * minute) / 1000);
  await ctx.grants.recordAccessToken(ending.id, 'jti-ending', soon);
  await ctx.grants.recordAccessToken(living.id, 'jti-living', later);
  await revokeAccessToken(ctx, { jti: 'jti-ending', exp: soon });
  await revokeAccessToken(ctx, { jti: 'jti-living', exp: later });
  const code = (grantId: string, expiresAt: number) =>
    ctx.codes.create({
      grantId,
      clientId: 'web',
      redirectUri: 'https://app.example/cb',
      codeChallenge: undefined,
      nonce: undefined,
      expiresAt,
    });
  await code(ending.id, start + minute);
  await code(living.id, start + 24 * 60 * minute);
  const device = (expiresAt: number) =>
    ctx.devices.create({ clientId: 'tv', scopes: [], audiences: [], intervalS: 5, expiresAt });
  await device(start + minute);
  await device(start + 24 * 60 * minute);
}

describe.each(databases)('purging expired records on $name', (fixture) => {
  let harness: Harness | undefined;
  let cleanup: (() => Promise<void>) | undefined;

  afterEach(async () => {
    await harness?.stop();
    await cleanup?.();
    harness = undefined;
  });

  async function open(purgeIntervalMs: number, now: () => number): Promise<ServiceContext> {
    const database = await fixture.create();
    cleanup = () => database.cleanup();
    harness = await startService(database, { now, purgeIntervalMs });
    return internalContext(harness);
  }

  it('deletes each kind only once it can no longer be presented, and keeps what lives on', async () => {
    let clock = start;
    const ctx = await open(0, () => clock);
    await seed(ctx);
    const all = {
      oauth_authorization_codes: 2,
      oauth_device_codes: 2,
      oauth_grant_access_tokens: 2,
      oauth_refresh_tokens: 2,
      oauth_grants: 2,
      oauth_revoked_tokens: 2,
    };
    expect(await counts(ctx)).toEqual(all);
    expect(await purgeRecords(ctx)).toEqual({
      codes: 0,
      deviceCodes: 0,
      accessTokens: 0,
      refreshTokens: 0,
      grants: 0,
      revocations: 0,
    });

    // The code has expired, but is kept for replay detection; the access token and its
    // revocation entry are past exp; the refresh token is still within its idle life.
    clock = start + 6 * minute;
    expect(await purgeRecords(ctx)).toEqual({
      codes: 0,
      deviceCodes: 0,
      accessTokens: 1,
      refreshTokens: 0,
      grants: 0,
      revocations: 1,
    });

    clock = start + 61 * minute + CODE_REPLAY_WINDOW_MS;
    expect(await purgeRecords(ctx)).toEqual({
      codes: 1,
      deviceCodes: 1,
      accessTokens: 0,
      refreshTokens: 1,
      grants: 1,
      revocations: 0,
    });
    expect(await counts(ctx)).toEqual({
      oauth_authorization_codes: 1,
      oauth_device_codes: 1,
      oauth_grant_access_tokens: 1,
      oauth_refresh_tokens: 1,
      oauth_grants: 1,
      oauth_revoked_tokens: 1,
    });
    // Nothing is left to purge until the living records end.
    expect(Object.values(await purgeRecords(ctx)).every((n) => n === 0)).toBe(true);
  });

  it('runs by itself every purgeIntervalMs', async () => {
    let clock = start;
    const ctx = await open(50, () => clock);
    await seed(ctx);
    clock = start + 2 * 24 * 60 * minute;
    const deadline = Date.now() + 5_000;
    let left = await counts(ctx);
    while (Object.values(left).some((n) => n > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      left = await counts(ctx);
    }
    expect(left).toEqual({
      oauth_authorization_codes: 0,
      oauth_device_codes: 0,
      oauth_grant_access_tokens: 0,
      oauth_refresh_tokens: 0,
      oauth_grants: 0,
      oauth_revoked_tokens: 0,
    });
  });
});
