import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InProcessChannel, MemoryStore } from '@tessera/storage';
import { createDatabase } from '@tessera/storage/sql';
import { openTokenService, type TokenService } from '@tessera/token-service';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, parseForm, signIn } from '../../../test/support/browser.js';
import { freePort } from '../../../test/support/redis-server.js';
import { devSeed } from '../src/dev/seed.js';
import { browserCommand } from '../src/login/browser.js';
import { spawnTessera } from './support/processes.js';

// `tessera login` spawned as a person runs it, against a real token service on 127.0.0.1; the
// test is the person's browser (BROWSER=none makes the command print the URL instead of opening
// one), following the URL with its own HTTP client and signing in as alice.

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const SECRET = 'cli-login-test-secret-0123456789abcdef-0123';
const ALICE_PASSWORD = 'alice-password-0123';

const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-login-'));
const children = new Set<ChildProcess>();
let server: Server;
let service: TokenService;
let db: Kysely<unknown>;
let store: MemoryStore;
let issuer = '';
let redirectUri = '';
let callbackPort = 0;
let aliceId = '';

beforeAll(async () => {
  server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  db = await createDatabase({ dialect: 'sqlite', filename: join(dir, 'tessera.db') });
  store = new MemoryStore({ prefix: 'cli-login:' });
  service = await openTokenService({
    issuer,
    database: db,
    store,
    channel: new InProcessChannel(),
    secret: SECRET,
    deviceCodeInterval: 1,
  });
  callbackPort = await freePort();
  redirectUri = `http://127.0.0.1:${callbackPort}/callback`;
  await service.clients.upsert({
    client_id: 'cli-test',
    client_name: 'tessera login test',
    token_endpoint_auth_method: 'none',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
    scopes: ['openid', 'profile', 'orders:read'],
    audiences: ['orders'],
    first_party: true,
  });
  aliceId = (await service.users.create('alice', ALICE_PASSWORD)).id;
  await service.app.ready();
  server.on('request', (request, response) => service.app.routing(request, response));
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  server?.closeAllConnections();
  server?.close();
  await service?.close();
  await store?.close();
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

interface Login {
  readonly child: ChildProcess;
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  /** Resolves when it exits: the code, stdout alone, and everything. */
  exit(): Promise<{ code: number | null; stdout: string; output: string }>;
}

function login(args: readonly string[] = []): Login {
  const command = spawnTessera(
    ['login', '--issuer', issuer, '--client', 'cli-test', '--redirect-uri', redirectUri, ...args],
    { env: { PATH: process.env.PATH ?? '', BROWSER: 'none' }, cwd: dir, children },
  );
  let stdout = '';
  command.child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  const exited = once(command.child, 'exit') as Promise<[number | null]>;
  return {
    child: command.child,
    waitFor: (pattern) => command.waitFor(pattern, 20_000),
    async exit() {
      const [code] = await exited;
      children.delete(command.child);
      return { code, stdout, output: command.output() };
    },
  };
}

const signInUrl = async (command: Login): Promise<string> =>
  (await command.waitFor(/Open this page to sign in:\s+(\S+)/))[1] as string;

async function verify(token: string) {
  const jwks = (await (await fetch(`${issuer}/jwks`)).json()) as { keys: [] };
  return (await jwtVerify(token, createLocalJWKSet(jwks), { issuer, typ: 'at+jwt' })).payload;
}

describe('tessera login (authorization code + PKCE, loopback redirect)', { timeout: 60_000 }, () => {
  it('prints the URL, and once alice signs in, an access token that verifies', async () => {
    const command = login(['--scope', 'openid', 'orders:read']);
    const url = new URL(await signInUrl(command));
    expect(url.origin + url.pathname).toBe(`${issuer}/authorize`);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('redirect_uri')).toBe(redirectUri);
    expect(url.searchParams.get('scope')).toBe('openid orders:read');
    // A stray request (a browser's favicon) is answered 404 and does not end the wait.
    expect((await fetch(new URL('/favicon.ico', redirectUri))).status).toBe(404);
    const { location } = await signIn(new Browser(), url, 'alice', ALICE_PASSWORD);
    expect(location.origin + location.pathname).toBe(redirectUri);
    const page = await fetch(location);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Signed in');
    const { code, stdout } = await command.exit();
    expect(code).toBe(0);
    // stdout holds the token alone, so TOKEN=$(tessera login) works.
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const claims = await verify(stdout.trim());
    expect(claims.sub).toBe(aliceId);
    expect(claims.client_id).toBe('cli-test');
    expect(claims.scope).toBe('openid orders:read');
  });

  it('--out writes the token response (--json) to a 0600 file, even over a wider existing one', async () => {
    const file = join(dir, 'token.json');
    writeFileSync(file, 'old', { mode: 0o644 });
    const command = login(['--out', file, '--json']);
    const { location } = await signIn(new Browser(), await signInUrl(command), 'alice', ALICE_PASSWORD);
    await fetch(location);
    const { code, stdout, output } = await command.exit();
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(output).toContain(`is in ${file} (mode 0600)`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(saved.token_type).toBe('bearer');
    expect(typeof saved.refresh_token).toBe('string');
    expect((await verify(saved.access_token as string)).sub).toBe(aliceId);
  });

  it('Cancel on the login page: the callback gets access_denied and the command says so', async () => {
    const command = login();
    const url = await signInUrl(command);
    const browser = new Browser();
    const form = parseForm(await (await browser.fetch(url)).text());
    const cancelled = await browser.post(url, form.action, { ...form.fields, action: 'cancel' });
    const location = cancelled.headers.get('location') as string;
    expect(new URL(location).searchParams.get('error')).toBe('access_denied');
    const page = await fetch(location);
    expect(page.status).toBe(400);
    const { code, output, stdout } = await command.exit();
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(output).toContain('tessera: the sign-in was denied (access_denied)');
  });

  it('a callback with another state is refused, before any token request', async () => {
    const command = login();
    await signInUrl(command);
    const page = await fetch(
      `${redirectUri}?code=stolen&state=not-this-one&iss=${encodeURIComponent(issuer)}`,
    );
    expect(page.status).toBe(400);
    const { code, output } = await command.exit();
    expect(code).toBe(1);
    expect(output).toContain('tessera: login refused: the callback state does not match this login');
  });

  it('a token error (a code the service never issued) is one line with the OAuth error', async () => {
    const command = login();
    const state = new URL(await signInUrl(command)).searchParams.get('state') as string;
    const callback = new URL(redirectUri);
    callback.search = new URLSearchParams({ code: 'never-issued', state, iss: issuer }).toString();
    expect((await fetch(callback)).status).toBe(400);
    const { code, output } = await command.exit();
    expect(code).toBe(1);
    expect(output).toMatch(/tessera: the token request failed: invalid_grant \(the code is invalid\)\n$/);
  });

  it('refuses clearly when the registered callback port is taken', async () => {
    const squatter = createServer().listen(callbackPort, '127.0.0.1');
    await once(squatter, 'listening');
    try {
      const { code, output } = await login().exit();
      expect(code).toBe(1);
      expect(output).toContain(
        `tessera: the login callback cannot listen on 127.0.0.1:${callbackPort}: the port is taken`,
      );
    } finally {
      squatter.close();
      await once(squatter, 'close');
    }
  });

  it('gives up after --timeout seconds without a sign-in', async () => {
    const { code, output } = await login(['--timeout', '1']).exit();
    expect(code).toBe(1);
    expect(output).toContain('tessera: no sign-in within 1 s (--timeout)');
  });

  it('names an issuer it cannot reach, and refuses a non-loopback redirect URI', async () => {
    const nowhere = await freePort();
    const unreachable = spawnTessera(['login', '--issuer', `http://127.0.0.1:${nowhere}`], {
      env: { PATH: process.env.PATH ?? '', BROWSER: 'none' },
      cwd: dir,
      children,
    });
    const [code] = (await once(unreachable.child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(unreachable.output()).toContain(`tessera: discovery at http://127.0.0.1:${nowhere}/ failed`);
    const remote = login(['--redirect-uri', 'http://example.com:8765/callback']);
    const refused = await remote.exit();
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('--redirect-uri must be http://127.0.0.1:PORT/PATH');
  });
});

describe('tessera login --device (RFC 8628)', { timeout: 60_000 }, () => {
  async function approveOnPage(command: Login, decision: 'approve' | 'cancel'): Promise<void> {
    const shown = await command.waitFor(/open (\S+) and enter the code ([A-Z]{4}-[A-Z]{4})/);
    const uri = shown[1] as string;
    const userCode = shown[2] as string;
    expect(uri).toBe(`${issuer}/device`);
    const browser = new Browser();
    const entry = parseForm(await (await browser.fetch(uri)).text());
    const login = parseForm(
      await (await browser.post(uri, entry.action, { user_code: userCode, action: 'continue' })).text(),
    );
    const consentPage = await browser.post(uri, login.action, {
      ...login.fields,
      username: 'alice',
      password: ALICE_PASSWORD,
      action: 'login',
    });
    const html = await consentPage.text();
    expect(html).toContain(userCode);
    const consent = parseForm(html);
    expect((await browser.post(uri, consent.action, { ...consent.fields, action: decision })).status).toBe(
      200,
    );
  }

  it('prints the code, and once alice approves it on the page, an access token that verifies', async () => {
    const command = login(['--device', '--scope', 'orders:read']);
    await approveOnPage(command, 'approve');
    const { code, stdout } = await command.exit();
    expect(code).toBe(0);
    const claims = await verify(stdout.trim());
    expect(claims.sub).toBe(aliceId);
    expect(claims.client_id).toBe('cli-test');
    expect(claims.scope).toBe('orders:read');
  });

  it('a denial ends the command with one line', async () => {
    const command = login(['--device']);
    await approveOnPage(command, 'cancel');
    const { code, output, stdout } = await command.exit();
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(output).toContain('tessera: the sign-in was denied (access_denied)');
  });
});

describe('tessera login helpers', () => {
  it('BROWSER chooses the opener: none prints only, %s stands for the URL; else by platform', () => {
    const url = 'http://127.0.0.1:9000/authorize?a=1&b=2';
    expect(browserCommand(url, { BROWSER: 'none' }, 'linux')).toBeUndefined();
    expect(browserCommand(url, { BROWSER: '' }, 'linux')).toBeUndefined();
    expect(browserCommand(url, { BROWSER: 'firefox --new-window' }, 'linux')).toEqual({
      command: 'firefox',
      args: ['--new-window', url],
    });
    expect(browserCommand(url, { BROWSER: 'open -a Safari %s' }, 'darwin')).toEqual({
      command: 'open',
      args: ['-a', 'Safari', url],
    });
    expect(browserCommand(url, {}, 'linux')).toEqual({ command: 'xdg-open', args: [url] });
    expect(browserCommand(url, {}, 'darwin')).toEqual({ command: 'open', args: [url] });
    expect(browserCommand(url, {}, 'win32')).toEqual({
      command: 'rundll32',
      args: ['url.dll,FileProtocolHandler', url],
    });
  });

  it('the dev seed registers shop-cli for the device grant and its loopback redirect', () => {
    const shopCli = devSeed(SECRET, 'http://127.0.0.1:8080').clients.find((c) => c.client_id === 'shop-cli');
    expect(shopCli?.grant_types).toContain(DEVICE_GRANT);
    expect(shopCli?.redirect_uris).toEqual(['http://127.0.0.1:8765/callback']);
  });
});
