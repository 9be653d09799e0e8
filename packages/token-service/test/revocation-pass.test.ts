import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/eventually.js';
import { reports } from '../../../test/support/token-service/clients.js';
import { configure, recordRevocations, userToken } from '../../../test/support/token-service/delegation.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { StatementLog } from '../../../test/support/token-service/statements.js';
import { endUserSessions } from '../src/lib/user-deactivation.js';
import { RevocationRepository } from '../src/store/revocations.js';
import { internalContext } from './support/internals.js';

const T0 = Date.UTC(2030, 6, 1);
const REPORTS_SECRET = reports.client_secret as string;
const REVOCATION_TABLES = ['oauth_grants', 'oauth_grant_access_tokens', 'oauth_revoked_tokens'];

// A grant is revoked in one pass: one transaction, one UPDATE of the grants and one INSERT of all
// their live tokens onto the list, however many there are; then one event per jti.
describe.each(databases)('grant revocation in one pass on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  const log = new StatementLog();

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, {
      now: () => T0,
      clients: [reports],
      plugins: [log],
      deactivationPollMs: 0,
    });
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  /** A grant of `userId` to reports, with a refresh token and `live` access tokens (plus one expired). */
  async function grantWith(userId: string, sid: string, live: number) {
    const { grants } = harness.context;
    const grant = await grants.create({
      userId,
      clientId: 'reports',
      scopes: ['openid'],
      audiences: ['orders'],
      sid,
      authTime: Math.floor(T0 / 1000) - 5,
      expiresAt: T0 + 86_400_000,
    });
    const refreshToken = await grants.addRefreshToken(grant.id, 3_600_000);
    const tokens = [];
    for (let i = 0; i < live; i += 1) {
      const token = userToken(harness, { subject: userId, clientId: 'reports', sessionId: sid });
      await grants.recordAccessToken(grant.id, token.jti, token.exp);
      tokens.push({ jti: token.jti, exp: token.exp });
    }
    await grants.recordAccessToken(grant.id, `expired-${grant.id}`, Math.floor(T0 / 1000) - 1);
    return { grant, refreshToken, tokens };
  }

  /** The grants' revoked_at and the jtis on the list, each in one query. */
  async function state(grantIds: readonly string[], jtis: readonly string[]) {
    const db = harness.context.db;
    const grants = await db
      .selectFrom('oauth_grants')
      .select(['id', 'revoked_at'])
      .where('id', 'in', grantIds)
      .execute();
    const listed = await db
      .selectFrom('oauth_revoked_tokens')
      .select(['jti', 'until'])
      .where('jti', 'in', jtis)
      .execute();
    return {
      revoked: Object.fromEntries(
        grants.map((row) => [row.id, row.revoked_at === null ? null : Number(row.revoked_at)]),
      ),
      listed: Object.fromEntries(listed.map((row) => [row.jti, Number(row.until)])),
    };
  }

  const byJti = (a: { jti: string }, b: { jti: string }) => (a.jti < b.jti ? -1 : 1);

  it('/revoke of a refresh token: one UPDATE of the grant, one INSERT of its three tokens, an event per jti', async () => {
    const { grant, refreshToken, tokens } = await grantWith('alice-sub', 'sid-a', 3);
    const config = await configure(harness, 'reports', REPORTS_SECRET);
    const recorder = await recordRevocations(harness);
    try {
      const writes = (await log.during(() => oidc.tokenRevocation(config, refreshToken), REVOCATION_TABLES))
        .filter((statement) => !statement.startsWith('select'))
        .filter((statement) => !statement.startsWith('delete'));
      expect(writes).toEqual(['update oauth_grants', 'insert oauth_revoked_tokens']);
      expect(await state([grant.id], [...tokens.map((t) => t.jti), `expired-${grant.id}`])).toEqual({
        revoked: { [grant.id]: T0 },
        listed: Object.fromEntries(tokens.map((t) => [t.jti, t.exp * 1000])),
      });
      await eventually(() => expect(recorder.messages).toHaveLength(3));
      expect(
        recorder.messages
          .map((message) => JSON.parse(message) as { kind: string; value: string; until: number })
          .map((event) => ({ kind: event.kind, jti: event.value, exp: event.until }))
          .sort(byJti),
      ).toEqual(tokens.map((t) => ({ kind: 'jti', ...t })).sort(byJti));
    } finally {
      await recorder.stop();
    }
  });

  it("a user's deactivation: one UPDATE for all their grants, one INSERT for all their tokens", async () => {
    const first = await grantWith('bob-sub', 'sid-b1', 2);
    const second = await grantWith('bob-sub', 'sid-b2', 3);
    const other = await grantWith('carol-sub', 'sid-c', 1);
    const ctx = internalContext(harness);
    const writes = (await log.during(() => endUserSessions(ctx, 'bob-sub'), REVOCATION_TABLES))
      .filter((statement) => !statement.startsWith('select'))
      .filter((statement) => !statement.startsWith('delete'));
    expect(writes).toEqual(['update oauth_grants', 'insert oauth_revoked_tokens']);
    const bobs = [...first.tokens, ...second.tokens];
    expect(
      await state(
        [first.grant.id, second.grant.id, other.grant.id],
        [...bobs, ...other.tokens].map((t) => t.jti),
      ),
    ).toEqual({
      revoked: { [first.grant.id]: T0, [second.grant.id]: T0, [other.grant.id]: null },
      listed: Object.fromEntries(bobs.map((t) => [t.jti, t.exp * 1000])),
    });
    // Nothing left to revoke: the one UPDATE finds no live grant, and nothing is listed again.
    const again = await log.during(() => endUserSessions(ctx, 'bob-sub'), REVOCATION_TABLES);
    expect(again.filter((statement) => !statement.startsWith('delete'))).toEqual([
      'select oauth_grants',
      'update oauth_grants',
    ]);
  });

  it('by id, an already revoked grant lists and returns its live tokens again (a retry announces them)', async () => {
    const { grant, tokens } = await grantWith('dave-sub', 'sid-d', 2);
    const revocations = harness.context.revocations;
    const first = await revocations.revokeGrants({ grantId: grant.id });
    const second = await revocations.revokeGrants({ grantId: grant.id });
    expect(first.grantIds).toEqual([grant.id]);
    expect(second.grantIds).toEqual([]);
    expect([...second.tokens].sort(byJti)).toEqual([...tokens].sort(byJti));
    expect(
      Object.keys(
        (
          await state(
            [grant.id],
            tokens.map((t) => t.jti),
          )
        ).listed,
      ),
    ).toHaveLength(2);
  });

  it('is one transaction: a failing INSERT of the tokens leaves the grant live and nothing listed', async () => {
    const { grant, tokens } = await grantWith('erin-sub', 'sid-e', 2);
    const failing = new StatementLog();
    failing.fail = (statement) => statement === 'insert oauth_revoked_tokens';
    const revocations = new RevocationRepository(harness.context.db.withPlugin(failing), () => T0);
    await expect(revocations.revokeGrants({ sid: 'sid-e' })).rejects.toThrow('statement refused by the test');
    expect(failing.statements).toEqual(['update oauth_grants', 'select oauth_grant_access_tokens']);
    expect(
      await state(
        [grant.id],
        tokens.map((t) => t.jti),
      ),
    ).toEqual({
      revoked: { [grant.id]: null },
      listed: {},
    });
  });
});
