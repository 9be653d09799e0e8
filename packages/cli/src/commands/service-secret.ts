import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Environment } from '@tessera/core/config';
import type { createDatabase } from '@tessera/storage/sql';
import type { CliIo } from '../context.js';

/** The service secret in production: it seals the signing keys and keys the client-secret hashes. */
export const secretVariable = 'TESSERA_SECRET';

/** The token service's default database, shared with `tessera users`. */
export const defaultDatabaseUrl = 'sqlite:./.tessera/tessera.db';

export interface SecretSource {
  readonly env: Environment;
  readonly io: CliIo;
  /** `--secret-file`, else the default beside the SQLite file (or `./.tessera/secret`). */
  readonly file: string;
  /** Whether a missing secret file may be generated here (local development only). */
  readonly mayCreate: boolean;
  /** Why creating is refused, for the one-line error. */
  readonly refusal: string;
}

/** Where the development secret lives by default: beside the SQLite database, else `./.tessera`. */
export function defaultSecretFile(databaseUrl: string): string {
  const match = /^sqlite:(?:\/\/)?(.+)$/i.exec(databaseUrl.trim());
  if (match?.[1] !== undefined && match[1] !== ':memory:') return join(dirname(match[1]), 'secret');
  return join('.tessera', 'secret');
}

/** The secret in `file`, or undefined when there is none (or, with `emptyIsMissing`, it is empty). */
async function readSecretFile(file: string, emptyIsMissing = false): Promise<string | undefined> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const secret = content.trim();
  if (secret !== '') return secret;
  if (emptyIsMissing) return undefined;
  throw new Error(`the secret file ${file} is empty`);
}

/**
 * The service secret: `TESSERA_SECRET` when set; otherwise a development secret file (32 random
 * bytes, base64url, mode 0600), read if it exists and generated once where `mayCreate` allows,
 * always with a loud warning. Everything else is a one-line error telling to set TESSERA_SECRET.
 */
export async function resolveServiceSecret(source: SecretSource): Promise<string> {
  const fromEnv = source.env[secretVariable];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const warn = () =>
    source.io.err(
      `tessera: WARNING: ${secretVariable} is not set; using the development secret file ${source.file}. ` +
        `Set ${secretVariable} (32+ random bytes) in production\n`,
    );
  const existing = await readSecretFile(source.file);
  if (existing !== undefined) {
    warn();
    if (((await stat(source.file)).mode & 0o077) !== 0) {
      source.io.err(`tessera: WARNING: ${source.file} is readable by other users; chmod 600 it\n`);
    }
    return existing;
  }
  if (!source.mayCreate) throw new Error(`set ${secretVariable}: ${source.refusal}`);
  await mkdir(dirname(source.file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  try {
    // `wx`: two processes starting at once must not each write their own secret.
    await writeFile(source.file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another process created it first; it may not have written it yet.
    for (let attempt = 0; attempt < 20; attempt++) {
      const written = await readSecretFile(source.file, true);
      if (written !== undefined) {
        warn();
        return written;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the secret file ${source.file} is empty`);
  }
  warn();
  return secret;
}

/** A Kysely instance on SQLite or PostgreSQL. */
export type Database = Awaited<ReturnType<typeof createDatabase<unknown>>>;

export interface OpenedDatabase {
  readonly db: Database;
  readonly dialect: 'sqlite' | 'postgres';
  /** The SQLite file, when the database is one. */
  readonly sqliteFile: string | undefined;
}

/**
 * Makes sure a SQLite file can be created where `--db` says. Only the default location
 * (`.tessera/`) is created here: a directory named on purpose that does not exist is a typo,
 * and creating it would put the database somewhere nobody looks.
 */
async function prepareSqliteDirectory(url: string, file: string): Promise<void> {
  const directory = dirname(file);
  if (url === defaultDatabaseUrl) {
    await mkdir(directory, { recursive: true });
    return;
  }
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(directory)).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new Error(`--db ${url}: the directory ${directory} does not exist (create it first)`);
  }
  if (!isDirectory) throw new Error(`--db ${url}: ${directory} is not a directory`);
}

/** Opens the database a `--db` URL names (creating the default SQLite directory). Not migrated. */
export async function openDatabase(url: string): Promise<OpenedDatabase> {
  // Loaded here, not at the top: the SQL drivers would slow every other command's start.
  const { createDatabase, parseDatabaseUrl } = await import('@tessera/storage/sql');
  const config = parseDatabaseUrl(url);
  const sqliteFile =
    config.dialect === 'sqlite' && config.filename !== ':memory:' ? config.filename : undefined;
  if (sqliteFile !== undefined) await prepareSqliteDirectory(url, sqliteFile);
  return { db: await createDatabase(config), dialect: config.dialect, sqliteFile };
}

export async function readStandardInput(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export interface AdminDatabaseOptions {
  readonly db: string;
  readonly secretFile?: string;
}

/**
 * Opens and migrates the token service's database and resolves its secret, for `tessera clients`
 * and `tessera keys`: a development secret file is generated only beside a SQLite database.
 */
export async function withAdminDatabase<T>(
  options: AdminDatabaseOptions,
  env: Environment,
  io: CliIo,
  work: (db: Database, secret: string) => Promise<T>,
): Promise<T> {
  const database = await openDatabase(options.db);
  try {
    const secret = await resolveServiceSecret({
      env,
      io,
      file: options.secretFile ?? defaultSecretFile(options.db),
      mayCreate: database.sqliteFile !== undefined,
      refusal: 'a development secret file is generated only beside a SQLite database',
    });
    const { migrateIdentity } = await import('@tessera/identity');
    const { migrateTokenService } = await import('@tessera/token-service');
    // The same migrations as the service's start, so either may run first.
    await migrateIdentity(database.db);
    await migrateTokenService(database.db);
    return await work(database.db, secret);
  } finally {
    await database.db.destroy();
  }
}
