import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

/** A port that was free a moment ago (the OS picks it), on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

export interface PartSpec {
  /** The name in the report (`gateway-a`, `orders`, `redis`). */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Printed once the part is ready to serve. */
  readonly ready: RegExp;
  /** A channel for the probe's messages (the shop services). */
  readonly ipc?: boolean;
  /** The arguments of every start after the first (a restart), if they differ. */
  readonly restartArgs?: readonly string[];
  /**
   * Stopped after every other part (the session store): the parts that use it close their
   * connections while it still answers, as a deployment is taken down.
   */
  readonly stopLast?: boolean;
}

/**
 * Every phase is bounded: a part that is not ready within this is a failure of the run. A part
 * starts in a second or two on an idle machine; on two cores shared with other work fourteen of
 * them starting at once took over 20 s, so the bound is for a part that never starts.
 */
const READY_TIMEOUT_MS = 60_000;
/** A part asked to stop gets this long before it is killed. */
const STOP_GRACE_MS = 3_000;

/** One child process of the run. */
export class Part {
  readonly spec: PartSpec;
  #child: ChildProcess | undefined;
  #output = '';
  #starts = 0;

  constructor(spec: PartSpec) {
    this.spec = spec;
  }

  get name(): string {
    return this.spec.name;
  }

  get child(): ChildProcess | undefined {
    return this.#child;
  }

  get running(): boolean {
    const child = this.#child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** The last lines it printed, for an error message. */
  tail(): string {
    return this.#output.split('\n').slice(-8).join('\n');
  }

  /** Starts it and resolves once it printed its ready line; rejects if it exits or is late. */
  async start(): Promise<void> {
    const { spec } = this;
    const args = this.#starts > 0 && spec.restartArgs !== undefined ? spec.restartArgs : spec.args;
    this.#starts++;
    const child = spawn(spec.command, [...args], {
      env: { PATH: process.env.PATH ?? '', ...spec.env },
      stdio: spec.ipc === true ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#output = '';
    const append = (chunk: Buffer) => {
      // Only the tail is kept: a long run must not grow this for ever.
      this.#output = (this.#output + chunk.toString('utf8')).slice(-8_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (spec.ready.test(this.#output)) finish();
        else if (Date.now() - started > READY_TIMEOUT_MS)
          finish(new Error(`${spec.name} was not ready within ${READY_TIMEOUT_MS} ms: ${this.tail()}`));
      }, 20);
      const started = Date.now();
      const onExit = (code: number | null, signal: string | null) =>
        finish(new Error(`${spec.name} exited (${signal ?? code}) before it was ready: ${this.tail()}`));
      const onError = (error: Error) => finish(error);
      const finish = (error?: Error) => {
        clearInterval(timer);
        child.off('exit', onExit);
        child.off('error', onError);
        if (error === undefined) resolve();
        else reject(error);
      };
      child.once('exit', onExit);
      child.once('error', onError);
    });
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves once it has exited. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  /** SIGKILL, as a crash: nothing is closed cleanly. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** CPU milliseconds (user + system) the process has used so far, from /proc; null where there is none. */
  async cpuMs(): Promise<number | null> {
    const pid = this.#child?.pid;
    if (pid === undefined || !this.running) return null;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_S : null;
    } catch {
      return null;
    }
  }
}

/** USER_HZ: 100 on every Linux architecture Node supports. */
const CLOCK_TICKS_PER_S = 100;

/**
 * Everything a run started, so that all of it is stopped at the end, on an error and on Ctrl-C;
 * if this process exits first (a second Ctrl-C), whatever is left is SIGKILLed.
 */
export class PartRegistry {
  readonly #parts = new Set<Part>();
  readonly #onExit = (): void => {
    for (const part of this.#parts) part.child?.kill('SIGKILL');
  };

  constructor() {
    process.on('exit', this.#onExit);
  }

  add(part: Part): Part {
    this.#parts.add(part);
    return part;
  }

  async start(spec: PartSpec): Promise<Part> {
    const part = this.add(new Part(spec));
    await part.start();
    return part;
  }

  /** Stops every part at once, then the ones marked `stopLast`. */
  async stopAll(): Promise<void> {
    const parts = [...this.#parts];
    this.#parts.clear();
    await Promise.all(parts.filter((part) => part.spec.stopLast !== true).map((part) => part.stop()));
    await Promise.all(parts.filter((part) => part.spec.stopLast === true).map((part) => part.stop()));
  }

  dispose(): void {
    process.off('exit', this.#onExit);
  }
}

/** Runs a short command to its end, bounded in time; rejects with its output if it fails. */
export function runToEnd(
  command: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs = 20_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else
        reject(
          new Error(
            `${args.join(' ')} failed (${signal ?? code}): ${output.trim().split('\n').slice(-3).join(' ')}`,
          ),
        );
    });
  });
}
