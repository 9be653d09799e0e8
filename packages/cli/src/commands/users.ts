import { textTable } from '@tessera/core';
import type { User, UserClaims, UserDirectory } from '@tessera/identity';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { usage } from '../lib/options.js';
import { defaultDatabaseUrl, openDatabase } from './service-secret.js';

/** Where a password may come from besides standard input; never from an argument (`ps` shows those). */
export const passwordVariable = 'TESSERA_USER_PASSWORD';

interface DatabaseOption {
  readonly db: string;
}

interface AddOptions extends DatabaseOption {
  readonly passwordStdin?: boolean;
  readonly name?: string;
  readonly email?: string;
  readonly claims?: string;
}

interface ListOptions extends DatabaseOption {
  readonly json?: boolean;
}

/** Opens the database a `--db` URL names, migrates the user directory, runs `work`, closes. */
async function withDirectory<T>(url: string, work: (directory: UserDirectory) => Promise<T>): Promise<T> {
  // Loaded here, not at the top: argon2 would slow every other command's start.
  const { migrateIdentity, openUserDirectory } = await import('@tessera/identity');
  const { db } = await openDatabase(url);
  try {
    await migrateIdentity(db);
    return await work(await openUserDirectory({ db }));
  } finally {
    await db.destroy();
  }
}

async function readStandardInput(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  // One trailing line break is what `echo` or a here-string adds; anything else is the password.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

function parseClaims(options: AddOptions): UserClaims {
  let claims: Record<string, unknown> = {};
  if (options.claims !== undefined) {
    try {
      claims = JSON.parse(options.claims) as Record<string, unknown>;
    } catch {
      throw usage('--claims must be a JSON object, e.g. \'{"name":"Alice"}\'');
    }
  }
  if (options.name !== undefined) claims = { ...claims, name: options.name };
  if (options.email !== undefined) claims = { ...claims, email: options.email };
  // The directory checks the claims themselves (standard claims only, right types).
  return claims as UserClaims;
}

function describeUser(user: User): string {
  return `${user.username} (id ${user.id})`;
}

async function findOrFail(directory: UserDirectory, username: string): Promise<User> {
  const user = await directory.findByUsername(username);
  if (user === null) throw new Error(`no user named ${JSON.stringify(username.slice(0, 64))}`);
  return user;
}

export function registerUsersCommand(program: Command, context: CliContext): void {
  const users = program
    .command('users')
    .description('manage the users of the user directory (SQLite or PostgreSQL)');
  const dbOption = [
    '--db <url>',
    'database: sqlite:FILE, sqlite::memory: or postgres://…',
    defaultDatabaseUrl,
  ] as const;

  users
    .command('add <username>')
    .description(
      `add a user; the password is read from standard input (--password-stdin) or ${passwordVariable}`,
    )
    .option(...dbOption)
    .option('--password-stdin', 'read the password from standard input (one trailing newline is dropped)')
    .option('--name <name>', 'the name claim')
    .option('--email <email>', 'the email claim')
    .option('--claims <json>', 'OpenID Connect standard claims as a JSON object')
    .action(async (username: string, options: AddOptions) => {
      const password =
        options.passwordStdin === true ? await readStandardInput() : context.env[passwordVariable];
      if (password === undefined) {
        throw usage(`give the password on standard input with --password-stdin, or in ${passwordVariable}`);
      }
      const claims = parseClaims(options);
      const user = await withDirectory(options.db, (directory) =>
        directory.create(username, password, claims),
      );
      context.io.out(`added user ${describeUser(user)}\n`);
    });

  users
    .command('list')
    .description('list the users')
    .option(...dbOption)
    .option('--json', 'print a JSON array instead of a table')
    .action(async (options: ListOptions) => {
      const all = await withDirectory(options.db, async (directory) => {
        const found: User[] = [];
        let after: string | null = null;
        do {
          const page = await directory.list(after === null ? { limit: 1000 } : { limit: 1000, after });
          found.push(...page.users);
          after = page.next;
        } while (after !== null);
        return found;
      });
      if (options.json === true) {
        context.io.out(`${JSON.stringify(all, null, 2)}\n`);
        return;
      }
      if (all.length === 0) {
        context.io.out('no users\n');
        return;
      }
      const rows = [
        ['USERNAME', 'ID', 'STATUS', 'NAME', 'EMAIL'],
        ...all.map((user) => [
          user.username,
          user.id,
          user.disabled ? 'disabled' : 'active',
          user.claims.name ?? '',
          user.claims.email ?? '',
        ]),
      ];
      context.io.out(`${textTable(rows)}\n`);
    });

  users
    .command('disable <username>')
    .description(
      'disable a user: every later login fails with "invalid username or password", and running token services and gateways on this database end its sessions within a poll (5 s by default)',
    )
    .option(...dbOption)
    .action(async (username: string, options: DatabaseOption) => {
      const user = await withDirectory(options.db, async (directory) =>
        directory.disable((await findOrFail(directory, username)).id),
      );
      context.io.out(`disabled user ${describeUser(user)}\n`);
    });

  users
    .command('enable <username>')
    .description('enable a disabled user again')
    .option(...dbOption)
    .action(async (username: string, options: DatabaseOption) => {
      const user = await withDirectory(options.db, async (directory) =>
        directory.enable((await findOrFail(directory, username)).id),
      );
      context.io.out(`enabled user ${describeUser(user)}\n`);
    });
}
