import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import * as oidc from 'openid-client';
import { listenAs } from '../lib/listen.js';
import { describeOAuthFailure } from './issuer.js';

export type Tokens = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

export interface BrowserLoginOptions {
  readonly config: oidc.Configuration;
  /** Exactly as registered for the client: `http://127.0.0.1:PORT/PATH` (RFC 8252 7.3). */
  readonly redirectUri: string;
  readonly scope: string | undefined;
  /** Aborts the wait for the browser (`--timeout`). */
  readonly signal: AbortSignal;
  /** Shows the person the sign-in URL (prints it and opens a browser); called once the callback listens. */
  readonly show: (url: URL) => Promise<void>;
}

/** The loopback address and port to listen on, from the redirect URI; refused unless it is one. */
function loopbackTarget(redirectUri: string): { host: string; port: number; path: string } {
  let url: URL;
  try {
    url = new URL(redirectUri);
  } catch {
    throw new Error('--redirect-uri is not a URL');
  }
  const host = url.hostname === '[::1]' ? '::1' : url.hostname;
  if (url.protocol !== 'http:' || (host !== '127.0.0.1' && host !== '::1') || url.port === '') {
    throw new Error(
      '--redirect-uri must be http://127.0.0.1:PORT/PATH (or [::1]): the callback listens on this machine only',
    );
  }
  return { host, port: Number(url.port), path: url.pathname };
}

const escapeText = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function answer(response: ServerResponse, status: number, title: string, text: string): void {
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'",
    'referrer-policy': 'no-referrer',
    connection: 'close',
  });
  response.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeText(title)}</title></head><body><h1>${escapeText(title)}</h1><p>${escapeText(text)}</p></body></html>`,
  );
}

/** Why the callback's answer is refused, before openid-client checks it all again. */
function stateProblem(callback: URL, state: string): string | undefined {
  const got = callback.searchParams.get('state');
  if (got === state) return undefined;
  return got === null
    ? 'the callback came without a state (not the answer to this login)'
    : 'the callback state does not match this login (an answer to another sign-in, or forged)';
}

/**
 * Authorization code + PKCE (S256) with a loopback redirect (RFC 8252), all OAuth by openid-client:
 * the callback listens on the redirect URI's address and port before the browser is sent to the
 * authorization URL; the first request to its path ends the wait, whatever it carries: a code
 * (exchanged and validated), an error (`access_denied` when the user cancelled), or a wrong state.
 */
export async function loginWithBrowser(options: BrowserLoginOptions): Promise<Tokens> {
  const { host, port, path } = loopbackTarget(options.redirectUri);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const authorizationUrl = oidc.buildAuthorizationUrl(options.config, {
    redirect_uri: options.redirectUri,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...(options.scope === undefined ? {} : { scope: options.scope }),
  });

  let settle: { resolve: (tokens: Tokens) => void; reject: (error: Error) => void } | undefined;
  const outcome = new Promise<Tokens>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let callback: URL | undefined;
    try {
      callback = new URL(request.url ?? '/', options.redirectUri);
    } catch {
      callback = undefined;
    }
    // Only a GET of the callback's own path ends the wait (a favicon or a stray request does not).
    if (request.method !== 'GET' || callback?.pathname !== path || settle === undefined) {
      answer(response, 404, 'Not found', 'This is the tessera login callback.');
      return;
    }
    const { resolve, reject } = settle;
    settle = undefined;
    const problem = stateProblem(callback, state);
    if (problem !== undefined) {
      answer(response, 400, 'Sign-in failed', problem);
      reject(new Error(`login refused: ${problem}`));
      return;
    }
    oidc
      .authorizationCodeGrant(options.config, callback, { pkceCodeVerifier: verifier, expectedState: state })
      .then(
        (tokens) => {
          answer(response, 200, 'Signed in', 'You can close this window and return to the terminal.');
          resolve(tokens);
        },
        (error: unknown) => {
          const denied = error instanceof oidc.AuthorizationResponseError && error.error === 'access_denied';
          const reason = denied
            ? 'the sign-in was denied (access_denied)'
            : error instanceof oidc.AuthorizationResponseError
              ? `the token service answered ${describeOAuthFailure(error)}`
              : `the token request failed: ${describeOAuthFailure(error)}`;
          answer(response, 400, 'Sign-in failed', `${reason}. Return to the terminal.`);
          reject(new Error(reason));
        },
      );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await listenAs(
    'the login callback',
    '--redirect-uri (another URI registered for the client)',
    host,
    port,
    () =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      }),
  );
  const onAbort = () => settle?.reject(new Error('timed out'));
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (options.signal.aborted) onAbort();
    await options.show(authorizationUrl);
    return await outcome;
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    server.closeAllConnections();
    server.close();
  }
}
