import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../../../../test/support/redis-server.js';
import { type DevMode, type DevSystem, type DevSystemOptions, startDevSystem } from '../../src/dev/system.js';

/** The built command, as a user runs it. */
export const bin = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

export interface SpawnedCommand {
  readonly child: ChildProcess;
  /** Everything it printed so far, stdout and stderr together. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects if it exits or `timeoutMs` passes first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

/** Runs `tessera ...args`, tracked in `children` so a test's afterAll can kill what is left. */
export function spawnTessera(
  args: readonly string[],
  options: { readonly env: NodeJS.ProcessEnv; readonly cwd: string; readonly children: Set<ChildProcess> },
): SpawnedCommand {
  const child = spawn(process.execPath, [bin, ...args], {
    env: options.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.children.add(child);
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return {
    child,
    output: () => output,
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const timer = setInterval(() => {
          const match = pattern.exec(output);
          if (match !== null) {
            clearInterval(timer);
            resolve(match);
          } else if (child.exitCode !== null || Date.now() - started > timeoutMs) {
            clearInterval(timer);
            reject(
              new Error(`tessera ${args[0]} did not print ${pattern} (exit ${child.exitCode}): ${output}`),
            );
          }
        }, 25);
      });
    },
  };
}

/** `tessera dev` in-process on free ports in a fresh temp dir; the dir is removed if it fails to start. */
export async function startDevOnFreePorts(
  mode: DevMode,
  secret: string,
  extra: Pick<DevSystemOptions, 'logs' | 'logLevel' | 'metrics' | 'dpop'> & { readonly mtls?: boolean } = {},
): Promise<{ system: DevSystem; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), `tessera-dev-${mode}-`));
  try {
    const system = await startDevSystem({
      mode,
      dir,
      secret,
      ports: {
        tokenService: await freePort(),
        gateway: await freePort(),
        orders: await freePort(),
        inventory: await freePort(),
        payments: await freePort(),
      },
      logLevel: 'silent',
      ...(extra.logs === undefined ? {} : { logs: extra.logs }),
      ...(extra.logLevel === undefined ? {} : { logLevel: extra.logLevel }),
      ...(extra.metrics === undefined ? {} : { metrics: extra.metrics }),
      ...(extra.dpop === undefined ? {} : { dpop: extra.dpop }),
      // Mutual TLS between the parts, the token service's own listener on a free port too.
      ...(extra.mtls === true ? { mtls: { port: await freePort() } } : {}),
    });
    return { system, dir };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * A dev system for one suite: started on free ports in a temp dir before its tests, stopped and
 * the dir removed after them. `system` throws when read before the start.
 */
export function devSystemForSuite(
  mode: DevMode,
  secret: string,
  extra: Parameters<typeof startDevOnFreePorts>[2] = {},
  timeoutMs?: number,
): { readonly system: DevSystem } {
  let started: { system: DevSystem; dir: string } | undefined;
  beforeAll(async () => {
    started = await startDevOnFreePorts(mode, secret, extra);
  }, timeoutMs);
  afterAll(async () => {
    await started?.system.close();
    if (started !== undefined) rmSync(started.dir, { recursive: true, force: true });
  }, timeoutMs);
  return {
    get system(): DevSystem {
      if (started === undefined) throw new Error('the dev system has not started');
      return started.system;
    },
  };
}
