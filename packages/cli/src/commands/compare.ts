import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ComparePlatform, FaultName, ModeName } from '@tessera/compare';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { writeDevFiles } from '../dev/files.js';
import { devUsers, SHOP_CLI_REDIRECT, SHOP_CLI_SCOPES } from '../dev/seed.js';
import { integer, usage } from '../lib/options.js';
import { packageVersion } from '../version.js';

interface CompareCommandOptions {
  readonly quick?: boolean;
  readonly modes?: string;
  readonly faults?: string;
  readonly revocation: boolean;
  readonly hopLatency: number;
  readonly connections?: number;
  readonly duration?: number;
  readonly workload?: string;
  readonly config?: string;
  readonly json?: string;
  readonly html?: string;
  readonly reports: string;
}

/** The dev system's way of writing a mode's configuration, handed to the comparison. */
function platform(): ComparePlatform {
  return {
    tessera: { command: process.execPath, args: [fileURLToPath(new URL('../bin.js', import.meta.url))] },
    version: packageVersion(),
    // `tessera keys rotate` in this process, as the command line runs it: no Node start-up per call.
    async runCommand(args, env) {
      const { main } = await import('../main.js');
      let output = '';
      const capture = (text: string) => {
        output += text;
      };
      const code = await main(['node', 'tessera', ...args], env, { out: capture, err: capture });
      if (code !== 0)
        throw new Error(`tessera ${args.slice(0, 2).join(' ')}: ${output.trim().split('\n').at(-1)}`);
    },
    users: devUsers.map((user) => ({ ...user })),
    publicClient: { clientId: 'shop-cli', redirectUri: SHOP_CLI_REDIRECT, scope: SHOP_CLI_SCOPES.join(' ') },
    async prepare(request) {
      const written = await writeDevFiles({
        mode: request.devMode,
        dir: request.dir,
        secret: request.secret,
        redisUrl: request.redisUrl,
        ports: request.ports,
        logLevel: 'warn',
        sessionsInMemory: request.sessionsInMemory,
        revocationEvents: request.revocationEvents,
        ...(request.routes === undefined ? {} : { routes: request.routes }),
        ...(request.tokenCacheSize === undefined ? {} : { tokenCacheSize: request.tokenCacheSize }),
        ...(request.dpop === true ? { dpop: true } : {}),
      });
      const ordersSecret = written.seed.clients.find(
        (client) => client.client_id === 'orders',
      )?.client_secret;
      return {
        gatewayConfig: written.files.gateway,
        seed: written.files.seed,
        databaseUrl: written.databaseUrl,
        issuer: written.issuer,
        gatewayEnv: written.gatewayEnv,
        serviceEnv: (service) => ({
          ...written.serviceEnv(service),
          TESSERA_SHOP_CLIENT_SECRET: ordersSecret ?? '',
        }),
      };
    },
  };
}

function listOf<T extends string>(
  option: string,
  value: string | undefined,
  allowed: readonly T[],
): T[] | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return [];
  const items = value.split(',').map((item) => item.trim());
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) throw usage(`${option} takes ${allowed.join(', ')}`);
  }
  return items as T[];
}

async function run(options: CompareCommandOptions, context: CliContext): Promise<void> {
  const { io } = context;
  const compare = await import('@tessera/compare');
  const modes = listOf<ModeName>('--modes', options.modes, compare.modeNames);
  const faults = listOf<FaultName>('--faults', options.faults, compare.faultNames);
  const workload = options.workload === undefined ? undefined : compare.loadWorkload(options.workload);
  let routes: import('@tessera/compare').UserRoute[] | undefined;
  if (options.config !== undefined) {
    if (workload === undefined)
      throw usage('--config needs --workload: the requests to send through its routes');
    // The gateway's own loader: a config `tessera gateway` would refuse is refused here, the same way.
    const { loadGatewayConfig } = await import('@tessera/gateway');
    routes = loadGatewayConfig({ file: options.config, env: context.env }).config.routes.map((route) => ({
      ...route,
    }));
  }
  const controller = new AbortController();
  const interrupt = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      // A second Ctrl-C while stopping: kill what is left now (the run's exit hook SIGKILLs its parts).
      io.err(`tessera compare: ${signal} again, killing every part\n`);
      process.exit(1);
    }
    io.err(`tessera compare: ${signal}, stopping every part\n`);
    controller.abort();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  try {
    const report = await compare.runCompare({
      platform: platform(),
      quick: options.quick === true,
      revocation: options.revocation,
      hopLatencyMs: options.hopLatency,
      signal: controller.signal,
      // A bar per phase on a terminal; plain lines in a log, a test or CI.
      progress:
        process.stderr.isTTY === true
          ? compare.barProgress(io.err, process.stderr.columns)
          : compare.plainProgress(io.err),
      ...(modes === undefined ? {} : { modes }),
      ...(faults === undefined ? {} : { faults }),
      ...(workload === undefined ? {} : { workload }),
      ...(routes === undefined ? {} : { routes }),
      ...(options.connections === undefined ? {} : { connections: options.connections }),
      ...(options.duration === undefined ? {} : { durationS: options.duration }),
    });
    io.out(compare.reportTable(report));
    const json = `${JSON.stringify(report, null, 2)}\n`;
    const html = compare.reportHtml(report);
    const reports = resolve(options.reports);
    await mkdir(reports, { recursive: true });
    const stamp = report.settings.started_at.replace(/[:.]/g, '-');
    const written = [join(reports, `compare-${stamp}.json`), join(reports, `compare-${stamp}.html`)];
    await writeFile(written[0] as string, json);
    await writeFile(written[1] as string, html);
    await writeFile(join(reports, 'latest.json'), json);
    await writeFile(join(reports, 'latest.html'), html);
    if (options.json !== undefined) {
      await writeFile(options.json, json);
      written.push(options.json);
    }
    if (options.html !== undefined) {
      await writeFile(options.html, html);
      written.push(options.html);
    }
    io.err(`tessera compare: wrote ${written.join(', ')}\n`);
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

export function registerCompareCommand(program: Command, context: CliContext): void {
  program
    .command('compare')
    .description(
      'run the same shop services in each mode (sessions in memory, sessions on Redis, tokens, tokens without a cache, hybrid, DPoP-bound tokens), every part a process, and measure cost, faults, revocation and propagation',
    )
    .option('--quick', 'a short run of every phase (tests, CI)')
    .option(
      '--modes <list>',
      'comma-separated: session-memory, session-redis, token, token-nocache, hybrid, token-dpop (default all)',
    )
    .option(
      '--faults <list>',
      'comma-separated: gateway_killed, store_down, token_service_down, key_rotated, or none (default all)',
    )
    .option('--no-revocation', 'skip the revocation phase')
    .option(
      '--hop-latency <ms>',
      'delay on every hop between parts, the store included',
      integer('--hop-latency', 0, 1000),
      0,
    )
    .option(
      '--connections <n>',
      'concurrent callers (default 32, quick 8)',
      integer('--connections', 1, 1000),
    )
    .option(
      '--duration <s>',
      'seconds of the cost phase per mode (default 10, quick 2)',
      integer('--duration', 1, 600),
    )
    .option('--workload <file>', 'a YAML list of requests: method, path, body, weight (default the shop mix)')
    .option(
      '--config <file>',
      "a gateway config whose routes (prefixes, upstreams) are measured instead of the shop's, in the modes its routes' auth allows (needs --workload)",
    )
    .option('--json <file>', 'write the report as JSON')
    .option('--html <file>', 'write the report as one self-contained HTML page')
    .option(
      '--reports <dir>',
      'where every report is also written (latest.json, latest.html)',
      '.tessera/reports',
    )
    .action((options: CompareCommandOptions) => run(options, context));
}
