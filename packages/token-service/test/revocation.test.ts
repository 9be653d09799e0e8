import { TesseraTypeError } from '@tessera/core';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeRevocationEvent,
  parseRevocationEvent,
  type RevocationEvent,
  revokeAccessToken,
} from '../src/lib/revocation.js';
import { basic, ORDERS_SECRET, orders } from './support/clients.js';
import { databases, type TestDatabase } from './support/databases.js';
import { claimsOf, configure, postForm } from './support/delegation.js';
import { type Harness, startService } from './support/harness.js';

describe('revocation events on the wire', () => {
  it('encode exactly kind, value, until in that order, and parse back', () => {
    for (const kind of ['jti', 'sub', 'sid', 'client'] as const) {
      const event: RevocationEvent = { kind, value: `v-${kind}`, until: 1_900_000_000 };
      const wire = encodeRevocationEvent({ ...event, extra: 'dropped' } as RevocationEvent);
      expect(wire).toBe(`{"kind":"${kind}","value":"v-${kind}","until":1900000000}`);
      expect(parseRevocationEvent(wire)).toEqual(event);
    }
  });

  it('refuse to encode a malformed event (programmer error)', () => {
    const bad = [
      { kind: 'user', value: 'x', until: 1 },
      { kind: 'jti', value: '', until: 1 },
      { kind: 'jti', value: 'x', until: 1.5 },
      { kind: 'jti', value: 'x', until: 0 },
    ];
    for (const event of bad) {
      expect(() => encodeRevocationEvent(event as RevocationEvent)).toThrow(TesseraTypeError);
    }
  });

  it('parse nothing from a message that is not a well-formed event', () => {
    for (const message of [
      'not json',
      '[]',
      'null',
      '{"kind":"jti","value":"x"}',
      '{"kind":"JTI","value":"x","until":1}',
      '{"kind":"jti","value":7,"until":1}',
      '{"kind":"jti","value":"x","until":"1"}',
      '{"kind":"jti","value":"x","until":-1}',
    ]) {
      expect(parseRevocationEvent(message)).toBeUndefined();
    }
  });
});

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
    const ctx = harness.service.context;
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
