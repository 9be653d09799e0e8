import { type SigningAlgorithm, signingAlgorithms, textTable } from '@tessera/core';
import type { KeyInfo } from '@tessera/token-service';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { integer, usage } from '../lib/options.js';
import { type AdminDatabaseOptions, defaultDatabaseUrl, withAdminDatabase } from './service-secret.js';

interface ListOptions extends AdminDatabaseOptions {
  readonly json?: boolean;
}

interface RotateOptions extends AdminDatabaseOptions {
  readonly alg?: string[];
  readonly wait?: boolean;
  readonly publishAhead: number;
}

function when(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString();
}

function algorithmsOf(options: RotateOptions): SigningAlgorithm[] {
  if (options.alg === undefined) return [...signingAlgorithms];
  for (const alg of options.alg) {
    if (!(signingAlgorithms as readonly string[]).includes(alg)) {
      throw usage(`--alg must be one of ${signingAlgorithms.join(', ')}`);
    }
  }
  return options.alg as SigningAlgorithm[];
}

export function registerKeysCommand(program: Command, context: CliContext): void {
  const keys = program.command('keys').description("list and rotate the token service's signing keys");
  const common = (command: Command) =>
    command
      .option('--db <url>', 'database: sqlite:FILE or postgres://…', defaultDatabaseUrl)
      .option('--secret-file <file>', 'development secret file when TESSERA_SECRET is not set');

  common(keys.command('list').description('list the published keys (next, active, retired)'))
    .option('--json', 'print a JSON array instead of a table')
    .action(async (options: ListOptions) => {
      const infos = await withAdminDatabase(options, context.env, context.io, async (db, secret) => {
        const { openKeyManager } = await import('@tessera/token-service');
        return (await openKeyManager({ database: db, secret })).list();
      });
      if (options.json === true) {
        context.io.out(`${JSON.stringify(infos, null, 2)}\n`);
        return;
      }
      const rows = [
        ['KID', 'ALG', 'STATE', 'CREATED', 'PUBLISHED_UNTIL'],
        ...infos.map((info: KeyInfo) => [
          info.kid,
          info.alg,
          info.state,
          when(info.createdAt),
          when(info.retireUntil),
        ]),
      ];
      context.io.out(`${textTable(rows)}\n`);
    });

  common(
    keys
      .command('rotate')
      .description(
        'one rotation step: the waiting next key (if any) starts signing, the active one is retired but stays published, and a new next key is published',
      ),
  )
    .option('--alg <alg...>', `only these algorithms (${signingAlgorithms.join(', ')}; default all)`)
    .option('--wait', 'when a next key was published too recently to sign, wait until it may, then rotate')
    .option(
      '--publish-ahead <seconds>',
      "how long a next key must have been published before it may sign: at least twice the instances' key reload interval",
      integer('--publish-ahead', 0, 86_400),
      60,
    )
    .action(async (options: RotateOptions) => {
      const algorithms = algorithmsOf(options);
      const lines = await withAdminDatabase(options, context.env, context.io, async (db, secret) => {
        const { openKeyManager } = await import('@tessera/token-service');
        const manager = await openKeyManager({
          database: db,
          secret,
          publishAheadMs: options.publishAhead * 1000,
        });
        // Every algorithm is checked before any rotates: a refusal leaves all of them as they were.
        for (;;) {
          let waitMs = 0;
          for (const alg of algorithms) waitMs = Math.max(waitMs, await manager.msUntilRotation(alg));
          if (waitMs === 0) break;
          const seconds = Math.ceil(waitMs / 1000);
          if (options.wait !== true) {
            throw new Error(
              `a next key was published too recently to sign (instances and verifiers may not have it yet): run again in ${seconds} s, or with --wait`,
            );
          }
          context.io.err(
            `tessera keys rotate: waiting ${seconds} s for the next key to reach every instance\n`,
          );
          await new Promise((resolve) => setTimeout(resolve, waitMs));
        }
        const out: string[] = [];
        for (const alg of algorithms) {
          const { promoted, next } = await manager.rotate(alg);
          // The key just retired is the one published the longest.
          const until = Math.max(
            0,
            ...manager
              .list()
              .filter((info) => info.alg === alg && info.state === 'retired')
              .map((info) => info.retireUntil ?? 0),
          );
          out.push(
            promoted === undefined
              ? `${alg}: published next key ${next}; it signs after the next rotate`
              : `${alg}: ${promoted} now signs; the previous key stays published until ${when(until)}; published next key ${next}`,
          );
        }
        return out;
      });
      context.io.out(`${lines.join('\n')}\n`);
    });
}
