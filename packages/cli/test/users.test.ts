import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrateIdentity, openUserDirectory } from '@tessera/identity';
import { createDatabase } from '@tessera/storage/sql';
import { afterAll, describe, expect, it } from 'vitest';

// The built command against a SQLite file in a temp dir, as an operator runs it.
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-users-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A directory named on purpose must exist (only the default .tessera/ is created: cli.test.ts).
const file = join(dir, 'tessera.db');
const db = `sqlite:${file}`;

function tessera(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH ?? '', ...options.env },
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';

describe('tessera users (spawned, SQLite file) (docs/security.md K135)', () => {
  const password = 'a long passphrase: 🔐 horse battery staple, with more than sixty-four characters in it';

  it('adds a user with the password from standard input', () => {
    const added = tessera(
      [
        'users',
        'add',
        'Alice',
        '--db',
        db,
        '--password-stdin',
        '--name',
        'Alice',
        '--email',
        'alice@example.com',
      ],
      {
        input: `${password}\n`,
      },
    );
    expect(added.stderr).toBe('');
    expect(added.status).toBe(0);
    expect(added.stdout).toMatch(new RegExp(`^added user Alice \\(id ${UUID}\\)\\n$`));
    // The password is stored only as an argon2id hash.
    expect(readFileSync(file).includes(Buffer.from('horse battery'))).toBe(false);
  });

  it('adds a user with the password from TESSERA_USER_PASSWORD and claims as JSON', () => {
    const added = tessera(
      ['users', 'add', 'bob', '--db', db, '--claims', '{"name":"Bob","email_verified":true}'],
      {
        env: { TESSERA_USER_PASSWORD: 'bob-password' },
      },
    );
    expect(added.status).toBe(0);
    expect(added.stdout).toMatch(/^added user bob /);
  });

  it('lists users as a table and as JSON', () => {
    const listed = tessera(['users', 'list', '--db', db]);
    expect(listed.status).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^USERNAME\s+ID\s+STATUS\s+NAME\s+EMAIL$/);
    expect(lines[1]).toMatch(new RegExp(`^Alice\\s+${UUID}\\s+active\\s+Alice\\s+alice@example\\.com$`));
    expect(lines[2]).toMatch(new RegExp(`^bob\\s+${UUID}\\s+active\\s+Bob$`));
    const json = JSON.parse(tessera(['users', 'list', '--db', db, '--json']).stdout) as {
      username: string;
      claims: Record<string, unknown>;
      disabled: boolean;
    }[];
    expect(json.map((u) => [u.username, u.claims, u.disabled])).toEqual([
      ['Alice', { name: 'Alice', email: 'alice@example.com' }, false],
      ['bob', { name: 'Bob', email_verified: true }, false],
    ]);
    expect(JSON.stringify(json)).not.toContain('argon2');
  });

  it('creates users that the directory authenticates, and disables them', async () => {
    const database = await createDatabase({ dialect: 'sqlite', filename: file });
    try {
      await migrateIdentity(database);
      const directory = await openUserDirectory({ db: database });
      const alice = await directory.authenticate({ username: 'alice', password, address: '127.0.0.1' });
      expect(alice.username).toBe('Alice');

      const disabled = tessera(['users', 'disable', 'ALICE', '--db', db]);
      expect(disabled.status).toBe(0);
      expect(disabled.stdout).toBe(`disabled user Alice (id ${alice.id})\n`);
      await expect(
        directory.authenticate({ username: 'alice', password, address: '127.0.0.1' }),
      ).rejects.toMatchObject({
        code: 'ERR_CREDENTIALS_INVALID',
        message: 'invalid username or password',
      });
      expect(tessera(['users', 'list', '--db', db]).stdout).toMatch(/^Alice\s+\S+\s+disabled/m);

      expect(tessera(['users', 'enable', 'alice', '--db', db]).status).toBe(0);
      expect((await directory.authenticate({ username: 'alice', password, address: '127.0.0.1' })).id).toBe(
        alice.id,
      );
    } finally {
      await database.destroy();
    }
  });

  const failures: [string, string[], string, RegExp][] = [
    [
      'a duplicate username',
      ['users', 'add', 'ALICE', '--db', db, '--password-stdin'],
      'another-password',
      /^tessera: a user with this username already exists\n$/,
    ],
    [
      'a username with a space',
      ['users', 'add', 'has space', '--db', db, '--password-stdin'],
      'another-password',
      /^tessera: username must not contain/,
    ],
    [
      'a short password',
      ['users', 'add', 'carol', '--db', db, '--password-stdin'],
      'short',
      /^tessera: password must have at least 8 characters\n$/,
    ],
    [
      'a claim that is not standard',
      ['users', 'add', 'carol', '--db', db, '--password-stdin', '--claims', '{"roles":["admin"]}'],
      'carol-password',
      /^tessera: claim roles is not an OpenID Connect standard claim\n$/,
    ],
    [
      'disabling an unknown user',
      ['users', 'disable', 'nobody', '--db', db],
      '',
      /^tessera: no user named "nobody"\n$/,
    ],
  ];

  it.each(failures)('refuses %s with one line on stderr, exit 1', (_label, args, input, stderr) => {
    const result = tessera(args, { input });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(stderr);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    if (input.length > 0) expect(result.stderr).not.toContain(input);
  });

  it('is a usage error (exit 2) without a password source, with bad --claims JSON or a bad --db', () => {
    for (const args of [
      ['users', 'add', 'dave', '--db', db],
      ['users', 'add', 'dave', '--db', db, '--password-stdin', '--claims', '{not json'],
    ]) {
      const result = tessera(args, { input: 'dave-password' });
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/^tessera: .+\n$/);
    }
    const badDb = tessera(['users', 'list', '--db', 'mysql://root:hunter2@db/x']);
    expect(badDb.status).toBe(1);
    expect(badDb.stderr).toBe(
      'tessera: the database URL must start with sqlite:, postgres:// or postgresql://\n',
    );
  });

  it('--help of users lists its subcommands', () => {
    const help = tessera(['users', '--help']);
    expect(help.status).toBe(0);
    for (const command of ['add', 'list', 'disable', 'enable'])
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  });
});
