import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

// A port that was free a moment ago: compare's, which starts its parts on such ports.
export { freePort } from '../../packages/compare/dist/processes.js';

/**
 * A private, throw-away redis-server a test file starts and kills (or freezes), so an outage can
 * be simulated without touching the shared server on 6379. Nothing is persisted to disk. Shared
 * by the storage and session tests.
 */
export class PrivateRedisServer {
  readonly port: number;
  readonly #leadingArgs: readonly string[];
  readonly #extraArgs: readonly string[];
  readonly #readyWhen: string;
  #process: ChildProcess | undefined;

  /**
   * `leadingArgs` come before the options (a config file for Sentinel), `extraArgs` after them
   * (cluster mode, for instance).
   */
  constructor(
    port: number,
    options: { leadingArgs?: string[]; extraArgs?: string[]; readyWhen?: string } = {},
  ) {
    this.port = port;
    this.#readyWhen = options.readyWhen ?? 'Ready to accept connections';
    this.#leadingArgs = options.leadingArgs ?? [];
    this.#extraArgs = options.extraArgs ?? [];
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        ...this.#leadingArgs,
        '--port',
        String(this.port),
        '--save',
        '',
        '--appendonly',
        'no',
        '--bind',
        '127.0.0.1',
        ...this.#extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#process = child;
    // If the test worker ends without running its afterAll hooks, the server must not outlive it.
    const killOnExit = (): void => void child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes(this.#readyWhen)) {
          child.stdout?.off('data', onData);
          child.stdout?.resume();
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`redis-server exited early (${code}): ${output}`)));
      child.once('error', reject);
    });
  }

  /**
   * Freezes the server (SIGSTOP): connections stay open but nothing is answered, as with a hung
   * or partitioned Redis. Its data is kept, so `resume()` brings back every key.
   */
  pause(): void {
    this.#process?.kill('SIGSTOP');
  }

  /** Thaws a server frozen by `pause()` (SIGCONT). */
  resume(): void {
    this.#process?.kill('SIGCONT');
  }

  /** Kills the server as a crash would (SIGKILL) and waits until it is gone. */
  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}
