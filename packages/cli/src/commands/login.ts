import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { defaultDevPorts, devUrls, SHOP_CLI_REDIRECT } from '../dev/seed.js';
import { integer } from '../lib/options.js';
import { openBrowser } from '../login/browser.js';
import { loginWithDevice } from '../login/device.js';
import { discoverIssuer } from '../login/issuer.js';
import { loginWithBrowser, type Tokens } from '../login/loopback.js';
import { tokenOutput, writeTokenFile } from '../login/output.js';

interface LoginOptions {
  readonly issuer: string;
  readonly client: string;
  readonly scope?: string[];
  readonly redirectUri: string;
  readonly device?: boolean;
  readonly browser: boolean;
  readonly out?: string;
  readonly json?: boolean;
  readonly timeout: number;
}

/**
 * `tessera login`: a person signs in at the token service and gets an access token on stdout (or
 * in a 0600 file), by authorization code + PKCE through the browser and a loopback callback, or
 * by the device grant (`--device`). Everything said to the person goes to stderr, so
 * `TOKEN=$(tessera login)` holds the token alone.
 */
async function login(context: CliContext, options: LoginOptions): Promise<void> {
  const say = (line: string) => context.io.err(`${line}\n`);
  const config = await discoverIssuer(options.issuer, options.client);
  const scope = options.scope === undefined ? undefined : options.scope.join(' ');
  const signal = AbortSignal.timeout(options.timeout * 1000);
  let tokens: Tokens;
  try {
    tokens =
      options.device === true
        ? await loginWithDevice({
            config,
            scope,
            signal,
            show: (start) => {
              say(`To sign in, open ${start.verification_uri} and enter the code ${start.user_code}`);
              if (start.verification_uri_complete !== undefined)
                say(`  (or open ${start.verification_uri_complete})`);
              say(`Waiting for the approval (up to ${Math.min(options.timeout, start.expires_in)} s)...`);
            },
          })
        : await loginWithBrowser({
            config,
            redirectUri: options.redirectUri,
            scope,
            signal,
            show: async (url) => {
              say(`Open this page to sign in:\n  ${url.href}`);
              const opened = options.browser && (await openBrowser(url.href, context.env));
              say(opened ? 'A browser was opened; waiting for the sign-in...' : 'Waiting for the sign-in...');
            },
          });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message === 'timed out') throw new Error(`no sign-in within ${options.timeout} s (--timeout)`);
    throw error;
  }
  const content = tokenOutput(tokens, options.json === true);
  if (options.out === undefined) {
    context.io.out(content);
    return;
  }
  await writeTokenFile(options.out, content);
  say(
    `Signed in; the ${options.json === true ? 'token response' : 'access token'} is in ${options.out} (mode 0600)`,
  );
}

export function registerLoginCommand(program: Command, context: CliContext): void {
  program
    .command('login')
    .description(
      'sign in at the token service and print an access token: authorization code + PKCE in the browser, or --device',
    )
    .option('--issuer <url>', 'the token service', devUrls(defaultDevPorts).tokenService)
    .option('--client <id>', 'a public client registered for the flow', 'shop-cli')
    .option('--scope <scope...>', "scopes to ask for (default: all the client's)")
    .option(
      '--redirect-uri <uri>',
      'the loopback redirect URI registered for the client; the callback listens on its port',
      SHOP_CLI_REDIRECT,
    )
    .option('--device', 'the device authorization grant: print a code to enter on any browser')
    .option('--no-browser', 'do not open a browser, only print the URL (so does BROWSER=none)')
    .option('--out <file>', 'write the token to this file (mode 0600) instead of stdout')
    .option('--json', 'the whole token response as JSON instead of the access token alone')
    .option('--timeout <seconds>', 'how long to wait for the sign-in', integer('--timeout', 1, 3600), 300)
    .action((options: LoginOptions) => login(context, options));
}
