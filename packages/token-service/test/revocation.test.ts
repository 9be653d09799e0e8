import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { basic, ORDERS_SECRET, orders } from '../../../test/support/token-service/clients.js';
import { claimsOf, configure, postForm } from '../../../test/support/token-service/delegation.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { revokeAccessToken } from '../src/lib/revocation.js';
import { internalContext } from './support/internals.js';

// A channel that cannot publish must not let a revocation pass unannounced.
describe.each(databases)('revocation when the channel is down on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, { clients: [orders] });
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  it('/revoke answers 503 temporarily_unavailable; the list already refuses the token; a retry is harmless', async () => {
    const config = await configure(harness, 'orders', ORDERS_SECRET);
    const token = (await oidc.clientCredentialsGrant(config)).access_token;
    const ctx = internalContext(harness);
    await ctx.channel.close();
    const answer = await postForm(harness, '/revoke', new URLSearchParams({ token }), {
      authorization: basic('orders', ORDERS_SECRET),
    });
    expect(answer.status).toBe(503);
    expect(answer.body.error).toBe('temporarily_unavailable');
    expect((await oidc.tokenIntrospection(config, token)).active).toBe(false);
    // Revoking the same jti again re-publishes (which still fails here) and adds no second row.
    const { jti, exp } = claimsOf(token) as { jti: string; exp: number };
    await expect(revokeAccessToken(ctx, { jti, exp })).rejects.toMatchObject({
      code: 'ERR_STORAGE_UNAVAILABLE',
    });
    const rows = await ctx.db
      .withTables<{ oauth_revoked_tokens: { jti: string } }>()
      .selectFrom('oauth_revoked_tokens')
      .select('jti')
      .where('jti', '=', jti)
      .execute();
    expect(rows).toHaveLength(1);
  });
});
