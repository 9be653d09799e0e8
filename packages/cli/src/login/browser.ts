import { spawn } from 'node:child_process';
import type { Environment } from '@tessera/core/config';

/** A program to run with the URL as its last argument (or in place of `%s`). */
export interface BrowserCommand {
  readonly command: string;
  readonly args: readonly string[];
}

/**
 * How a URL is opened: `BROWSER` first, as other command-line tools read it (`none` or empty:
 * not opened, the URL is only printed; otherwise the command to run, with `%s` standing for the
 * URL or the URL appended), then the platform's opener: `open` on macOS, `xdg-open` elsewhere, and
 * on Windows `rundll32 url.dll,FileProtocolHandler` (cmd's `start` would read every `&` of the
 * query as a command separator).
 */
export function browserCommand(
  url: string,
  env: Environment,
  platform: NodeJS.Platform,
): BrowserCommand | undefined {
  const chosen = env.BROWSER;
  if (chosen !== undefined) {
    const words = chosen
      .trim()
      .split(/\s+/)
      .filter((word) => word !== '');
    const [command, ...rest] = words;
    if (command === undefined || command === 'none') return undefined;
    const args = rest.includes('%s') ? rest.map((word) => (word === '%s' ? url : word)) : [...rest, url];
    return { command, args };
  }
  if (platform === 'darwin') return { command: 'open', args: [url] };
  if (platform === 'win32') return { command: 'rundll32', args: ['url.dll,FileProtocolHandler', url] };
  return { command: 'xdg-open', args: [url] };
}

/** Starts the browser on `url`, detached; false when none could be started (the caller has printed the URL). */
export function openBrowser(
  url: string,
  env: Environment,
  platform: NodeJS.Platform = process.platform,
): Promise<boolean> {
  const chosen = browserCommand(url, env, platform);
  if (chosen === undefined) return Promise.resolve(false);
  return new Promise((resolve) => {
    const child = spawn(chosen.command, [...chosen.args], { detached: true, stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}
