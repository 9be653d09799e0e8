import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPasswordHasher, openUserDirectory } from '@tessera/identity';
import { createDatabase } from '@tessera/storage/sql';
import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, signIn } from '../../../test/support/browser.js';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/eventually.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';
import { BACKCHANNEL_LOGOUT_EVENT } from '../src/lib/backchannel-logout.js';
import { loadSeedFile } from '../src/seed.js';
import type { ClientRegistration } from '../src/store/client-registration.js';
import { validateRegistration } from '../src/store/client-registration.js';

const LOGOUT_REDIRECT = 'http://127.0.0.1:8080/signed-out';
const redirectOf = (clientId: string) => `http://127.0.0.1:8080/cb/${clientId}`;

interface Received {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: URLSearchParams;
}

/**
 * A relying party's back channel on 127.0.0.1, port 0: `/ok/...` answers 200, `/fail/...` 500,
 * `/hang/...` never answers. Every POST is recorded once its body has arrived.
 */
async function startReceiver(): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '';
      received.push({
        path,
        contentType: request.headers['content-type'],
        body: new URLSearchParams(Buffer.concat(chunks).toString('utf8')),
      });
      if (path.startsWith('/ok/')) response.writeHead(200).end();
      else if (path.startsWith('/flaky/')) {
        // 503 the first time a path is called, 200 after: a client restarting.
        const calls = received.filter((entry) => entry.path === path).length;
        response.writeHead(calls === 1 ? 503 : 200).end();
      } else if (path.startsWith('/fail/'))
        response.writeHead(500, { 'content-type': 'text/plain' }).end('x'.repeat(100_000));
      // /hang/: no answer; the sender's timeout ends it.
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, server };
}

function rp(clientId: string, extra: Partial<ClientRegistration> = {}): ClientRegistration {
  return {
    client_id: clientId,
    redirect_uris: [redirectOf(clientId)],
    post_logout_redirect_uris: [LOGOUT_REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    scopes: ['openid', 'profile'],
    first_party: true,
    ...extra,
  };
}

async function metric(harness: Harness, result: 'ok' | 'failed'): Promise<number> {
  const text = await (await fetch(`${harness.url}/metrics`)).text();
  const match = new RegExp(`^tessera_backchannel_logout_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(
    text,
  );
  return match === null ? 0 : Number(match[1]);
}

describe.each(databases)('back-channel logout on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let config: oidc.Configuration;
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  let aliceId: string;

  beforeAll(async () => {
    database = await fixture.create();
    receiver = await startReceiver();
    harness = await startService(database, {
      // Short, so the client that never answers costs the test little; the default is 5 s.
      backchannelLogoutTimeoutMs: 500,
      // Retries after 20 ms, then 20 ms: the default waits 1 s and 5 s.
      backchannelLogoutRetryDelaysMs: [20, 20],
      // Looks for other processes' deactivations every 50 ms; the default is 5 s.
      deactivationPollMs: 50,
      metrics: { public: true },
      clients: [
        rp('web', { backchannel_logout_uri: `${receiver.url}/ok/web?tenant=1` }),
        rp('admin', {
          backchannel_logout_uri: `${receiver.url}/ok/admin`,
          backchannel_logout_session_required: true,
          id_token_signed_response_alg: 'ES256',
        }),
        rp('quiet'),
        rp('down', { backchannel_logout_uri: `${receiver.url}/fail/down` }),
        rp('hang', { backchannel_logout_uri: `${receiver.url}/hang/hang` }),
        rp('flaky', { backchannel_logout_uri: `${receiver.url}/flaky/flaky` }),
      ],
    });
    aliceId = await addAlice(harness.service);
    config = await oidc.discovery(new URL(harness.url), 'web', undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    jwks = createRemoteJWKSet(new URL(`${harness.url}/jwks`));
  });
  afterAll(async () => {
    await harness?.stop();
    receiver?.server.closeAllConnections();
    receiver?.server.close();
    await database?.cleanup();
  });

  /** The `error` a `prompt=none` authorization request at `web` is answered with, if any. */
  async function silentSignInError(browser: Browser): Promise<string | null> {
    const silent = await browser.fetch(
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectOf('web'),
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
        prompt: 'none',
      }),
    );
    return new URL(silent.headers.get('location') as string).searchParams.get('error');
  }

  /** Signs in at `web` with the login form; returns the tokens (ID token with `sid`). */
  async function signInAtWeb(browser: Browser, username: string, password: string) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectOf('web'),
      scope: 'openid profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const { location } = await signIn(browser, url, username, password);
    return oidc.authorizationCodeGrant(config, location, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      idTokenExpected: true,
    });
  }

  /** A silent authorization (prompt=none) of another client in the same browser session: a grant of the session. */
  async function authorizeSilently(browser: Browser, clientId: string): Promise<void> {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = new URL(`${harness.url}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectOf(clientId),
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 's',
      prompt: 'none',
    }).toString();
    const response = await browser.fetch(url);
    expect(response.status).toBe(303);
    expect(new URL(response.headers.get('location') as string).searchParams.get('code')).toBeTruthy();
  }

  async function verifyLogoutToken(received: Received, clientId: string): Promise<JWTPayload> {
    expect(received.contentType).toBe('application/x-www-form-urlencoded');
    expect([...received.body.keys()]).toEqual(['logout_token']);
    const token = received.body.get('logout_token') as string;
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: harness.url,
      audience: clientId,
      typ: 'logout+jwt',
    });
    expect(protectedHeader.kid).toBeTypeOf('string');
    expect(payload.events).toEqual({ [BACKCHANNEL_LOGOUT_EVENT]: {} });
    expect(payload).not.toHaveProperty('nonce');
    expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect((payload.exp as number) - (payload.iat as number)).toBe(120);
    return payload;
  }

  it('discovery lists back-channel logout with sessions', async () => {
    const metadata = (await (
      await fetch(`${harness.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(metadata.backchannel_logout_supported).toBe(true);
    expect(metadata.backchannel_logout_session_supported).toBe(true);
  });

  it('keeps the registration in SQL', async () => {
    harness.service.clients.invalidate();
    expect(await harness.service.clients.find('admin')).toMatchObject({
      backchannel_logout_uri: `${receiver.url}/ok/admin`,
      backchannel_logout_session_required: true,
    });
    expect(await harness.service.clients.find('quiet')).toMatchObject({
      backchannel_logout_uri: undefined,
      backchannel_logout_session_required: false,
    });
  });

  it('RP-initiated logout sends one Logout Token to each client of the session that registered a URI', async () => {
    receiver.received.length = 0;
    const okBefore = await metric(harness, 'ok');
    const failedBefore = await metric(harness, 'failed');
    const browser = new Browser();
    const tokens = await signInAtWeb(browser, 'alice', ALICE_PASSWORD);
    const sid = tokens.claims()?.sid;
    expect(sid).toBeTypeOf('string');
    for (const clientId of ['admin', 'quiet', 'down', 'hang', 'flaky'])
      await authorizeSilently(browser, clientId);

    const out = await browser.fetch(
      oidc.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token as string,
        post_logout_redirect_uri: LOGOUT_REDIRECT,
        state: 'bye',
      }),
    );
    // The page does not wait for the clients: one answers 500 and one never answers.
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe(`${LOGOUT_REDIRECT}?state=bye`);
    await harness.service.idle();

    const paths = receiver.received.map((entry) => entry.path).sort();
    // Nothing for `quiet`, which registered no URI; one POST for each client that answers 2xx;
    // three (two retries) for the one answering 500 and the one that never answers; two for the
    // one that answers 503 once. Each attempt carries a Logout Token of its own.
    expect(paths).toEqual([
      '/fail/down',
      '/fail/down',
      '/fail/down',
      '/flaky/flaky',
      '/flaky/flaky',
      '/hang/hang',
      '/hang/hang',
      '/hang/hang',
      '/ok/admin',
      '/ok/web?tenant=1',
    ]);
    const flakyTokens = receiver.received
      .filter((entry) => entry.path === '/flaky/flaky')
      .map((entry) => entry.body.get('logout_token'));
    expect(new Set(flakyTokens).size).toBe(2);

    const web = receiver.received.find((entry) => entry.path.startsWith('/ok/web')) as Received;
    const webPayload = await verifyLogoutToken(web, 'web');
    expect(webPayload.sub).toBe(aliceId);
    expect(webPayload.sid).toBe(sid);
    expect(decodeProtectedHeader(web.body.get('logout_token') as string).alg).toBe('RS256');

    // Signed like that client's ID tokens.
    const admin = receiver.received.find((entry) => entry.path === '/ok/admin') as Received;
    const adminPayload = await verifyLogoutToken(admin, 'admin');
    expect(adminPayload.sid).toBe(sid);
    expect(decodeProtectedHeader(admin.body.get('logout_token') as string).alg).toBe('ES256');

    // Counted once per delivery, after its retries: web, admin and flaky delivered; down and hang not.
    expect(await metric(harness, 'ok')).toBe(okBefore + 3);
    expect(await metric(harness, 'failed')).toBe(failedBefore + 2);
    // The session's grants are gone all the same.
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('a second logout of the ended session sends nothing again', async () => {
    receiver.received.length = 0;
    const browser = new Browser();
    const tokens = await signInAtWeb(browser, 'alice', ALICE_PASSWORD);
    const hint = tokens.id_token as string;
    expect((await browser.fetch(oidc.buildEndSessionUrl(config, { id_token_hint: hint }))).status).toBe(200);
    await harness.service.idle();
    expect(receiver.received).toHaveLength(1);
    // The second logout finds no session: no token is sent again.
    expect((await browser.fetch(oidc.buildEndSessionUrl(config, { id_token_hint: hint }))).status).toBe(200);
    await harness.service.idle();
    expect(receiver.received).toHaveLength(1);
  });

  it('disabling a user sends a Logout Token for each of its sessions and ends them', async () => {
    const bob = await harness.service.users.create('bob', 'bob-password-0123456789');
    const first = new Browser();
    const second = new Browser();
    const one = await signInAtWeb(first, 'bob', 'bob-password-0123456789');
    const two = await signInAtWeb(second, 'bob', 'bob-password-0123456789');
    await authorizeSilently(second, 'quiet');
    receiver.received.length = 0;

    await harness.service.users.disable(bob.id);
    await harness.service.idle();

    expect(receiver.received.map((entry) => entry.path)).toEqual(['/ok/web?tenant=1', '/ok/web?tenant=1']);
    const payloads = await Promise.all(receiver.received.map((entry) => verifyLogoutToken(entry, 'web')));
    expect(payloads.map((payload) => payload.sub)).toEqual([bob.id, bob.id]);
    expect(payloads.map((payload) => payload.sid).sort()).toEqual(
      [one.claims()?.sid, two.claims()?.sid].sort(),
    );
    await expect(oidc.refreshTokenGrant(config, two.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    // Its SSO sessions ended too: no silent sign-in.
    expect(await silentSignInError(second)).toBe('login_required');
  });

  it('a user disabled by another process (tessera users disable) loses its sessions here within a poll', async () => {
    const carol = await harness.service.users.create('carol', 'carol-password-0123456789');
    const browser = new Browser();
    const tokens = await signInAtWeb(browser, 'carol', 'carol-password-0123456789');
    receiver.received.length = 0;

    // Another process: a connection and a directory of its own, with no listener, as the CLI has.
    const otherDb = await createDatabase(database.config);
    try {
      const admin = await openUserDirectory({
        db: otherDb,
        hasher: createPasswordHasher({ memoryCost: 256, timeCost: 1, parallelism: 1 }),
      });
      await admin.disable(carol.id);
    } finally {
      await otherDb.destroy();
    }

    await eventually(() => expect(receiver.received).toHaveLength(1));
    await harness.service.idle();
    expect(receiver.received).toHaveLength(1);
    const payload = await verifyLogoutToken(receiver.received[0] as Received, 'web');
    expect(payload).toMatchObject({ sub: carol.id, sid: tokens.claims()?.sid });
    expect(await silentSignInError(browser)).toBe('login_required');
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    // Handed out once: the next polls find nothing new.
    expect(await harness.service.users.pollDeactivations()).toBe(0);
  });
});

describe('back-channel logout registration', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-backchannel-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('takes an https or loopback http URI, with a query; session_required defaults to false', () => {
    for (const uri of [
      'https://rp.example.com/backchannel?x=1',
      'http://127.0.0.1:8080/bc',
      'http://localhost/bc',
      'http://[::1]:3000/bc',
    ]) {
      expect(validateRegistration(rp('web', { backchannel_logout_uri: uri }))).toMatchObject({
        backchannel_logout_uri: uri,
        backchannel_logout_session_required: false,
      });
    }
    expect(validateRegistration(rp('web'))).toMatchObject({ backchannel_logout_uri: undefined });
  });

  it('refuses a relative URI, a fragment, http on a non-loopback host and session_required alone', () => {
    const cases: [Partial<ClientRegistration>, RegExp][] = [
      [
        { backchannel_logout_uri: '/backchannel' },
        /backchannel_logout_uri "\/backchannel" is not an absolute URI/,
      ],
      [
        { backchannel_logout_uri: 'https://rp.example.com/bc#frag' },
        /backchannel_logout_uri .* has a fragment/,
      ],
      [
        { backchannel_logout_uri: 'http://rp.example.com/bc' },
        /backchannel_logout_uri .* uses http on a host/,
      ],
      [{ backchannel_logout_uri: 'javascript:alert(1)' }, /backchannel_logout_uri .* must use https/],
      [{ backchannel_logout_session_required: true }, /needs a backchannel_logout_uri/],
    ];
    for (const [extra, pattern] of cases) {
      let caught: unknown;
      try {
        validateRegistration(rp('web', extra));
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: 'ERR_CLIENT_REGISTRATION_INVALID', status: 400 });
      expect((caught as Error).message).toMatch(pattern);
    }
  });

  it('the seed file takes both fields and applies the same rules', async () => {
    const good = join(dir, 'good.yaml');
    await writeFile(
      good,
      `clients:
  - client_id: web
    redirect_uris: [https://rp.example.com/cb]
    backchannel_logout_uri: https://rp.example.com/backchannel
    backchannel_logout_session_required: true
`,
    );
    expect(loadSeedFile(good).clients[0]).toMatchObject({
      backchannel_logout_uri: 'https://rp.example.com/backchannel',
      backchannel_logout_session_required: true,
    });
    const bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      `clients:
  - client_id: web
    redirect_uris: [https://rp.example.com/cb]
    backchannel_logout_uri: http://rp.example.com/backchannel
`,
    );
    expect(() => loadSeedFile(bad)).toThrowError(/clients\[0\]: client web: backchannel_logout_uri/);
  });
});
