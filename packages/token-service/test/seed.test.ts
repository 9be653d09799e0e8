import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openUserDirectory, type UserDirectory } from '@tessera/identity';
import { applySeed, loadSeedFile } from '@tessera/token-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { basic } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';

// Exactly the example of issue 3.
const ISSUE_EXAMPLE = `clients:
  - client_id: shop-web          # public client: no secret, PKCE
    redirect_uris: [http://127.0.0.1:8080/auth/callback]
    grant_types: [authorization_code, refresh_token]
    scopes: [openid, profile, email, orders:read, orders:write]
    audiences: [orders, inventory]   # the default \`aud\` of its tokens
    first_party: true
  - client_id: orders
    client_secret: orders-secret
    grant_types: [client_credentials, urn:ietf:params:oauth:grant-type:token-exchange]
    scopes: [inventory:reserve, payments:charge]
    audiences: [inventory, payments]   # what it may ask or exchange tokens for
users:
  - username: alice
    password: alice-password
    claims: { name: Alice, email: alice@example.com }
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-seed-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function seedFile(name: string, content: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, content);
  return file;
}

async function loadError(name: string, content: string): Promise<string> {
  const file = await seedFile(name, content);
  try {
    loadSeedFile(file);
  } catch (error) {
    expect((error as { code: string }).code).toMatch(/^ERR_CONFIG_(INVALID|PARSE)$/);
    return (error as Error).message;
  }
  throw new Error('expected the seed file to be refused');
}

describe('loadSeedFile', () => {
  it('reads the example of the issue', async () => {
    const seed = loadSeedFile(await seedFile('issue.yaml', ISSUE_EXAMPLE));
    expect(seed.clients.map((client) => client.client_id)).toEqual(['shop-web', 'orders']);
    expect(seed.clients[0]?.first_party).toBe(true);
    expect(seed.users).toEqual([
      {
        username: 'alice',
        password: 'alice-password',
        claims: { name: 'Alice', email: 'alice@example.com' },
      },
    ]);
  });

  it('reads JSON, and an empty seed', async () => {
    const seed = loadSeedFile(
      await seedFile(
        'seed.json',
        JSON.stringify({ clients: [{ client_id: 'svc', client_secret: 'x'.repeat(40) }] }),
      ),
    );
    expect(seed.clients).toHaveLength(1);
    expect(seed.users).toEqual([]);
    expect(loadSeedFile(await seedFile('empty.json', '{}'))).toEqual({ clients: [], users: [] });
  });

  it('refuses an unknown key with the file, line and path, never the value', async () => {
    const message = await loadError(
      'unknown.yaml',
      'clients:\n  - client_id: a\n    client_secret: hunter2-secret\n    scope: [x]\n',
    );
    expect(message).toBe(`seed file ${join(dir, 'unknown.yaml')}, line 4: clients[0].scope: unknown key`);
    expect(message).not.toContain('hunter2');
  });

  it('refuses a wrong type with the path', async () => {
    const message = await loadError('type.yaml', 'clients:\n  - client_id: a\n    first_party: "yes"\n');
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toContain('clients[0].first_party');
  });

  it('refuses a client breaking a registration rule, naming its index and the rule', async () => {
    const message = await loadError(
      'rule.yaml',
      'clients:\n  - client_id: ok\n    client_secret: a-long-enough-secret-0123456789abcdef\n  - client_id: web\n    redirect_uris: [http://example.com/cb]\n',
    );
    expect(message).toMatch(/^seed file .*rule\.yaml: clients\[1\]: client web: redirect URI .* /);
    expect(message.split('\n')).toHaveLength(1);
  });

  it('reads a client with the registration schema itself: a broken limit names the line and path', async () => {
    const message = await loadError(
      'limits.yaml',
      'clients:\n  - client_id: ok\n    client_secret: a-long-enough-secret-0123456789abcdef\n  - client_id: has space\n',
    );
    expect(message).toBe(
      `seed file ${join(dir, 'limits.yaml')}, line 4: clients[1].client_id: must be 1-255 printable ASCII characters without spaces`,
    );
    const many = `clients:\n  - client_id: web\n    scopes: [${Array.from({ length: 201 }, (_, i) => `s${i}`).join(', ')}]\n`;
    expect(await loadError('many.yaml', many)).toMatch(
      /^seed file .*many\.yaml, line 3: clients\[0\]\.scopes: /,
    );
  });

  it('refuses duplicate client ids and usernames', async () => {
    expect(
      await loadError(
        'dup.yaml',
        'clients:\n  - client_id: a\n    client_secret: s\n  - client_id: a\n    client_secret: s\n',
      ),
    ).toContain('clients[1].client_id: a appears twice');
    expect(
      await loadError(
        'dupu.yaml',
        'users:\n  - {username: bob, password: p-12345678}\n  - {username: BOB, password: p-12345678}\n',
      ),
    ).toContain('users[1].username: appears twice');
  });

  it('refuses a file that is not a mapping or not parsable, and a missing file', async () => {
    expect(await loadError('list.yaml', '- a\n- b\n')).toContain('seed file');
    expect(await loadError('bad.json', '{"clients": [')).toContain('seed file');
    expect(() => loadSeedFile(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml/);
  });
});

describe.each(databases)('applySeed on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  let users: UserDirectory;
  const warnings: string[] = [];
  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database);
    users = await openUserDirectory({ db: harness.db });
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  const token = (secret: string) =>
    fetch(`${harness.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic('orders', secret),
      },
      body: 'grant_type=client_credentials',
    });

  it('creates the clients and users of the issue example, and the seeded client gets a token', async () => {
    const seed = loadSeedFile(await seedFile('apply.yaml', ISSUE_EXAMPLE));
    const result = await applySeed(seed, { service: harness.service, users, warn: (m) => warnings.push(m) });
    expect(result).toEqual({
      clients: { created: ['shop-web', 'orders'], updated: [], unchanged: [] },
      users: { created: ['alice'], existing: [] },
    });
    const response = await token('orders-secret');
    expect(response.status).toBe(200);
    expect(((await response.json()) as { scope: string }).scope).toBe('inventory:reserve payments:charge');
    const alice = await users.authenticate({
      username: 'alice',
      password: 'alice-password',
      address: '127.0.0.1',
    });
    expect(alice.claims).toEqual({ name: 'Alice', email: 'alice@example.com' });
    // "orders-secret" is short: an operator is told, without the secret.
    expect(warnings.some((warning) => warning.includes('client orders') && warning.includes('shorter'))).toBe(
      true,
    );
    expect(warnings.join('\n')).not.toContain('orders-secret');
  });

  it('applied again, changes nothing (and still warns about the short secret)', async () => {
    warnings.length = 0;
    const seed = loadSeedFile(await seedFile('apply.yaml', ISSUE_EXAMPLE));
    const before = await harness.service.clients.list();
    const result = await applySeed(seed, { service: harness.service, users, warn: (m) => warnings.push(m) });
    expect(result).toEqual({
      clients: { created: [], updated: [], unchanged: ['shop-web', 'orders'] },
      users: { created: [], existing: ['alice'] },
    });
    expect(await harness.service.clients.list()).toEqual(before);
    expect(warnings).toHaveLength(1);
  });

  it('a changed secret is hashed again; the old one stops working', async () => {
    const changed = ISSUE_EXAMPLE.replace(
      'client_secret: orders-secret',
      'client_secret: orders-secret-rotated-0123456789abcdef',
    );
    const result = await applySeed(loadSeedFile(await seedFile('changed.yaml', changed)), {
      service: harness.service,
      users,
    });
    expect(result.clients).toEqual({ created: [], updated: ['orders'], unchanged: ['shop-web'] });
    expect((await token('orders-secret-rotated-0123456789abcdef')).status).toBe(200);
    expect((await token('orders-secret')).status).toBe(401);
  });

  it('dpop_bound_access_tokens turned on in the seed updates the client (RFC 9449 5.2)', async () => {
    const rotated = ISSUE_EXAMPLE.replace(
      'client_secret: orders-secret',
      'client_secret: orders-secret-rotated-0123456789abcdef',
    );
    const bound = rotated.replace(
      '    audiences: [inventory, payments]',
      '    dpop_bound_access_tokens: true\n    audiences: [inventory, payments]',
    );
    const apply = async (name: string, content: string) =>
      (await applySeed(loadSeedFile(await seedFile(name, content)), { service: harness.service, users }))
        .clients;
    expect(await apply('bound.yaml', bound)).toEqual({
      created: [],
      updated: ['orders'],
      unchanged: ['shop-web'],
    });
    const refused = await token('orders-secret-rotated-0123456789abcdef');
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_dpop_proof');
    expect(await apply('unbound.yaml', rotated)).toEqual({
      created: [],
      updated: ['orders'],
      unchanged: ['shop-web'],
    });
    expect((await token('orders-secret-rotated-0123456789abcdef')).status).toBe(200);
  });

  it('never resets an existing user password, and never deletes a client or user', async () => {
    const other = `clients:\n  - client_id: extra\n    client_secret: extra-secret-0123456789abcdef-0123456789\nusers:\n  - username: alice\n    password: another-password\n`;
    const result = await applySeed(loadSeedFile(await seedFile('other.yaml', other)), {
      service: harness.service,
      users,
    });
    expect(result).toEqual({
      clients: { created: ['extra'], updated: [], unchanged: [] },
      users: { created: [], existing: ['alice'] },
    });
    expect((await harness.service.clients.list()).map((client) => client.client_id)).toEqual([
      'extra',
      'orders',
      'shop-web',
    ]);
    await expect(
      users.authenticate({ username: 'alice', password: 'alice-password', address: '127.0.0.1' }),
    ).resolves.toMatchObject({ username: 'alice' });
  });

  it('in dev, a short secret is not warned about', async () => {
    const dev: string[] = [];
    const short = 'clients:\n  - client_id: devsvc\n    client_secret: short\n';
    await applySeed(loadSeedFile(await seedFile('dev.yaml', short)), {
      service: harness.service,
      dev: true,
      warn: (m) => dev.push(m),
    });
    expect(dev).toEqual([]);
  });

  it('a user the directory refuses is reported with its index', async () => {
    const bad = 'users:\n  - username: shorty\n    password: abc\n';
    await expect(
      applySeed(loadSeedFile(await seedFile('badpw.yaml', bad)), { service: harness.service, users }),
    ).rejects.toThrow(/^seed users\[0\]: password must have at least 8 characters$/);
  });
});
