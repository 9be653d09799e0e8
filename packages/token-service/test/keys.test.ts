import { createDatabase } from '@tessera/storage/sql';
import { decodeProtectedHeader } from 'jose';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { basic, ORDERS_SECRET, orders } from '../../../test/support/token-service/clients.js';
import { startService, TEST_SECRET } from '../../../test/support/token-service/harness.js';
import { TokenServiceError } from '../src/errors.js';
import { KeyManager } from '../src/lib/key-manager.js';
import { deriveServiceKeys } from '../src/lib/secrets.js';
import { migrateTokenService } from '../src/migrations/index.js';
import type { TokenServiceDatabase } from '../src/store/schema.js';

interface Jwks {
  keys: Record<string, unknown>[];
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

describe.each(databases)('signing keys on $name (docs/security.md D122)', (fixture) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await fixture.create();
  });
  afterAll(async () => {
    await database?.cleanup();
  });

  it('are created at first start, published without private parts (D 72), and survive a restart', async () => {
    const first = await startService(database, { clients: [orders] });
    let jwks: Jwks;
    let token: string;
    try {
      jwks = (await (await fetch(`${first.url}/jwks`)).json()) as Jwks;
      const response = await fetch(`${first.url}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic('orders', ORDERS_SECRET),
        },
        body: 'grant_type=client_credentials',
      });
      token = ((await response.json()) as { access_token: string }).access_token;
    } finally {
      await first.stop();
    }
    expect(jwks.keys.map((key) => key.alg).sort()).toEqual(['ES256', 'EdDSA', 'RS256']);
    expect(new Set(jwks.keys.map((key) => key.kid)).size).toBe(jwks.keys.length);
    for (const key of jwks.keys) {
      for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);
      expect(key.kty).not.toBe('oct');
      expect(key.use).toBe('sig');
    }
    const header = decodeProtectedHeader(token);
    expect(jwks.keys.find((key) => key.kid === header.kid)?.alg).toBe('EdDSA');

    const second = await startService(database);
    try {
      const again = (await (await fetch(`${second.url}/jwks`)).json()) as Jwks;
      expect(again.keys.map((key) => key.kid).sort()).toEqual(jwks.keys.map((key) => key.kid).sort());
      expect(second.service.keys.keySet.activeKey('EdDSA').kid).toBe(header.kid);
    } finally {
      await second.stop();
    }
  });

  it('are stored encrypted: no private member and no key material in plain text', async () => {
    const harness = await startService(database);
    try {
      const db = harness.db as Kysely<TokenServiceDatabase>;
      const rows = await db.selectFrom('oauth_signing_keys').selectAll().execute();
      expect(rows.length).toBeGreaterThanOrEqual(3);
      for (const row of rows) {
        expect(row.encrypted_jwk).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
        expect(row.encrypted_jwk).not.toContain('"d"');
        const key = harness.service.keys.keySet.get(row.kid);
        expect(key).toBeDefined();
        // The public x / n of the key is not in the row either: the whole JWK is sealed.
        const publicJwk = harness.service.keys.keySet.jwks().keys.find((jwk) => jwk.kid === row.kid);
        expect(row.encrypted_jwk).not.toContain(publicJwk?.x ?? publicJwk?.n ?? 'never');
      }
      const clientRow = await db.selectFrom('oauth_clients').selectAll().executeTakeFirst();
      expect(clientRow?.secret_hash ?? null).not.toBe(ORDERS_SECRET);
    } finally {
      await harness.stop();
    }
  });

  it('a wrong secret is a clear startup error', async () => {
    await expect(
      startService(database, { secret: 'another-secret-0123456789abcdef-0123456789' }),
    ).rejects.toMatchObject({
      name: 'TokenServiceError',
      code: 'ERR_SIGNING_KEY_UNREADABLE',
      message: expect.stringContaining('service secret'),
    });
  });

  it('rotate publishes a next key before it signs, and keeps the old one until its tokens expire', async () => {
    const db = await createDatabase(database.config);
    let now = Date.now();
    try {
      await migrateTokenService(db);
      const options = {
        db: db as Kysely<TokenServiceDatabase>,
        encryptionKey: deriveServiceKeys(new TextEncoder().encode(TEST_SECRET)).keyEncryption,
        retireAfterMs: 600_000,
        now: () => now,
      };
      const manager = await KeyManager.open(options);
      const original = manager.keySet.activeKey('EdDSA').kid;

      const step1 = await manager.rotate('EdDSA');
      expect(step1.promoted).toBeUndefined();
      expect(manager.keySet.activeKey('EdDSA').kid).toBe(original);
      expect(manager.keySet.jwks().keys.map((key) => key.kid)).toContain(step1.next);

      now += 60_000;
      const step2 = await manager.rotate('EdDSA');
      expect(step2.promoted).toBe(step1.next);
      expect(manager.keySet.activeKey('EdDSA').kid).toBe(step1.next);
      const published = manager.keySet.jwks().keys.map((key) => key.kid);
      expect(published).toEqual(expect.arrayContaining([original, step1.next, step2.next]));
      const retired = manager.list().find((info) => info.kid === original);
      expect(retired).toMatchObject({ state: 'retired', retireUntil: now + 600_000 });

      // Another instance (or a restart) sees the same state.
      const other = await KeyManager.open(options);
      expect(other.keySet.activeKey('EdDSA').kid).toBe(step1.next);

      // Once every token the old key signed has expired, it is no longer published.
      now += 600_001;
      await other.reload();
      expect(other.keySet.jwks().keys.map((key) => key.kid)).not.toContain(original);

      const promoted = await manager.promote('EdDSA');
      expect(promoted).toBe(step2.next);
      await expect(manager.promote('EdDSA')).rejects.toBeInstanceOf(TokenServiceError);
      // The RSA key for ID tokens was never touched.
      expect(manager.list().filter((info) => info.alg === 'RS256' && info.state === 'active')).toHaveLength(
        1,
      );
    } finally {
      await db.destroy();
    }
  });

  it('two instances starting at once on an empty database keep one active key per algorithm', async () => {
    const fresh = await fixture.create();
    const dbs = [await createDatabase(fresh.config), await createDatabase(fresh.config)];
    try {
      await migrateTokenService(dbs[0] as Kysely<unknown>);
      const encryptionKey = deriveServiceKeys(new TextEncoder().encode(TEST_SECRET)).keyEncryption;
      const managers = await Promise.all(
        dbs.map((db) =>
          KeyManager.open({ db: db as Kysely<TokenServiceDatabase>, encryptionKey, retireAfterMs: 1000 }),
        ),
      );
      await managers[0]?.reload();
      for (const alg of ['EdDSA', 'RS256', 'ES256'] as const) {
        const kids = managers.map((manager) => manager.keySet.activeKey(alg).kid);
        expect(kids[0]).toBe(kids[1]);
      }
      const rows = await (dbs[0] as Kysely<TokenServiceDatabase>)
        .selectFrom('oauth_signing_keys')
        .select(['alg', 'state'])
        .where('state', '=', 'active')
        .execute();
      expect(rows).toHaveLength(3);
    } finally {
      for (const db of dbs) await db.destroy();
      await fresh.cleanup();
    }
  });

  it('rotate refuses to let a next key sign before it has been published publishAheadMs', async () => {
    const db = await createDatabase(database.config);
    let now = Date.now();
    try {
      await migrateTokenService(db);
      // ES256: the other tests of this database rotate EdDSA.
      const manager = await KeyManager.open({
        db: db as Kysely<TokenServiceDatabase>,
        encryptionKey: deriveServiceKeys(new TextEncoder().encode(TEST_SECRET)).keyEncryption,
        retireAfterMs: 600_000,
        publishAheadMs: 30_000,
        now: () => now,
      });
      const original = manager.keySet.activeKey('ES256').kid;
      const step1 = await manager.rotate('ES256');
      now += 29_000;
      expect(await manager.msUntilRotation('ES256')).toBe(1_000);
      // Run again at once (a script run twice, a double click): the unpublished-everywhere key
      // would sign. Refused, and nothing changed.
      await expect(manager.rotate('ES256')).rejects.toMatchObject({
        code: 'ERR_KEY_ROTATION_TOO_SOON',
        status: 409,
        message: expect.stringContaining('may sign in 1 s'),
      });
      expect(manager.keySet.activeKey('ES256').kid).toBe(original);
      expect(manager.list().filter((info) => info.alg === 'ES256' && info.state === 'next')).toHaveLength(1);
      now += 1_000;
      expect(await manager.msUntilRotation('ES256')).toBe(0);
      expect((await manager.rotate('ES256')).promoted).toBe(step1.next);
    } finally {
      await db.destroy();
    }
  });
});
