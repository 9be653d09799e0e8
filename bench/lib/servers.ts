// The child-process side and the parent side of a benchmark server: each server runs in its own
// Node process so autocannon's CPU is not taken from the server's event loop.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningServer {
  readonly port: number;
  /** The server's process, when it runs in one of its own (for its CPU time, bench/lib/cpu.ts). */
  readonly pid?: number;
  close(): Promise<void>;
}

export interface SpawnOptions {
  /** Where the child's stderr goes; 'ignore' for servers that log noisily. */
  readonly stderr?: 'inherit' | 'ignore';
  readonly env?: NodeJS.ProcessEnv;
  /** Node options before the script (`--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
}

/** Runs `script args...` under tsx and resolves once it prints `READY <port>`. */
export async function spawnServer(
  script: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<RunningServer> {
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', script, ...args],
    {
      stdio: ['ignore', 'pipe', options.stderr ?? 'inherit'],
      ...(options.env === undefined ? {} : { env: options.env }),
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /READY (\d+)/.exec(output);
      if (match?.[1] !== undefined) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${args[0] ?? script} server exited (${code})`)));
  });
  return {
    port,
    ...(child.pid === undefined ? {} : { pid: child.pid }),
    async close() {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * In a servers.ts run as a script: starts the server, prints `READY <port>` for spawnServer and
 * closes it on SIGTERM. Does nothing when the module is only imported (BENCH_IN_PROCESS=1).
 */
export async function serveIfMain(
  moduleUrl: string,
  start: (args: readonly string[]) => Promise<RunningServer>,
): Promise<void> {
  const script = process.argv[1];
  if (script === undefined || !moduleUrl.endsWith(script.replace(/^.*\//, '/'))) return;
  const server = await start(process.argv.slice(2));
  process.once('SIGTERM', () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  process.stdout.write(`READY ${server.port}\n`);
}

/** What `listenOnLoopback` needs of a server app (a Fastify instance fits). */
interface ListeningApp {
  listen(options: { host: string; port: number }): Promise<unknown>;
  readonly server: { address(): AddressInfo | string | null };
  close(): Promise<unknown>;
}

/** Listens on 127.0.0.1 at a free port; closing it closes the app, then what `alsoClose` holds. */
export async function listenOnLoopback(
  app: ListeningApp,
  alsoClose: () => Promise<unknown> = async () => {},
): Promise<RunningServer> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    port: (app.server.address() as AddressInfo).port,
    async close() {
      await app.close();
      await alsoClose();
    },
  };
}

/**
 * The token service's part of a benchmark: `document` (a key set's JWKS) on node:http at
 * 127.0.0.1, its URL the issuer and the JWKS URI alike.
 */
export async function serveJwks(document: () => unknown): Promise<{ url: string; close(): void }> {
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(document()));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}
