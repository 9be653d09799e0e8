import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/redis-server.js';
import { spawnTessera } from './support/processes.js';

// The built command against a SQLite file in a temp dir, as an operator runs it.
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-ts-'));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

// A directory named with --db must exist (only the default .tessera/ is created).
for (const sub of ['data', 'dev', 'other']) mkdirSync(join(dir, sub));
const db = `sqlite:${join(dir, 'data', 'tessera.db')}`;
const SECRET = 'cli-test-secret-0123456789abcdef-0123456789';
const env = { PATH: process.env.PATH ?? '', TESSERA_SECRET: SECRET };

function tessera(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    env: options.env ?? env,
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: 15_000,
    cwd: dir,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface Running {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
}

/** Starts `tessera token-service` and resolves once it prints that it listens. */
async function startService(args: string[], scheme = 'http'): Promise<Running> {
  const port = await freePort();
  const url = `${scheme}://127.0.0.1:${port}`;
  const command = spawnTessera(['token-service', '--port', String(port), '--db', db, ...args], {
    env,
    cwd: dir,
    children,
  });
  await command.waitFor(/listening on/, 60_000);
  return { url, child: command.child, output: command.output };
}

async function stop(running: Running): Promise<number | null> {
  running.child.kill('SIGTERM');
  const [code] = (await once(running.child, 'exit')) as [number | null];
  children.delete(running.child);
  return code;
}

describe('tessera clients (spawned, SQLite file) (docs/security.md K130)', { timeout: 60_000 }, () => {
  let secret = '';

  it('adds a confidential client, printing a generated secret once', () => {
    const added = tessera([
      'clients',
      'add',
      'orders',
      '--db',
      db,
      '--grant-type',
      'client_credentials',
      '--scope',
      'inventory:reserve',
      'payments:charge',
      '--audience',
      'inventory',
      '--dpop-bound-subjects',
    ]);
    expect(added.stderr).toContain('cannot be shown again');
    expect(added.status).toBe(0);
    const match = /^added client orders \(client_secret_basic\)\nclient_secret: ([A-Za-z0-9_-]{43})\n$/.exec(
      added.stdout,
    );
    expect(match).not.toBeNull();
    secret = match?.[1] ?? '';
  });

  it('adds a public client and one with a secret from standard input', () => {
    const web = tessera([
      'clients',
      'add',
      'shop-web',
      '--db',
      db,
      '--public',
      '--redirect-uri',
      'http://127.0.0.1:8080/auth/callback',
      '--backchannel-logout-uri',
      'http://127.0.0.1:8080/auth/backchannel-logout',
      '--allowed-origin',
      'http://127.0.0.1:8080',
      '--scope',
      'openid',
      '--first-party',
      '--dpop-bound',
    ]);
    expect(web.status).toBe(0);
    expect(web.stdout).toBe('added client shop-web (none)\n');
    const fromStdin = tessera(['clients', 'add', 'billing', '--db', db, '--client-secret-stdin'], {
      input: 'billing-secret-0123456789abcdef-0123456789\n',
    });
    expect(fromStdin.status).toBe(0);
    expect(fromStdin.stdout).toBe('added client billing (client_secret_basic)\n');
  });

  it('refuses a duplicate and a registration breaking a rule, with one line and exit 1', () => {
    const duplicate = tessera(['clients', 'add', 'orders', '--db', db]);
    expect(duplicate.status).toBe(1);
    expect(duplicate.stderr).toBe('tessera: client orders is already registered\n');
    const bad = tessera([
      'clients',
      'add',
      'web2',
      '--db',
      db,
      '--public',
      '--redirect-uri',
      'http://example.com/cb',
    ]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^tessera: client web2: redirect URI "http:\/\/example\.com\/cb" .+\n$/);
    // A flag the one registration schema does not accept is named by its field, before any rule.
    const badGrant = tessera(['clients', 'add', 'web3', '--db', db, '--grant-type', 'password']);
    expect(badGrant.status).toBe(1);
    expect(badGrant.stderr).toMatch(/^tessera: client web3: grant_types\.0: .+\n$/);
    const badBackchannel = tessera([
      'clients',
      'add',
      'web3',
      '--db',
      db,
      '--public',
      '--redirect-uri',
      'http://127.0.0.1:8080/cb',
      '--backchannel-logout-uri',
      'http://example.com/logout#x',
    ]);
    const badOrigin = tessera([
      'clients',
      'add',
      'web4',
      '--db',
      db,
      '--public',
      '--redirect-uri',
      'http://127.0.0.1:8080/cb',
      '--allowed-origin',
      'https://*.shop.example',
    ]);
    expect(badOrigin.status).toBe(1);
    expect(badOrigin.stderr).toBe(
      'tessera: client web4: allowed origin "https://*.shop.example" is a wildcard: register each origin exactly\n',
    );
    expect(badBackchannel.status).toBe(1);
    expect(badBackchannel.stderr).toBe(
      'tessera: client web3: backchannel_logout_uri "http://example.com/logout#x" has a fragment\n',
    );
  });

  it('lists clients as a table and as JSON without secret hashes', () => {
    const listed = tessera(['clients', 'list', '--db', db]);
    expect(listed.status).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CLIENT_ID\s+AUTH\s+GRANTS\s+SCOPES\s+AUDIENCES$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/)[0])).toEqual(['billing', 'orders', 'shop-web']);
    expect(lines[2]).toMatch(
      /^orders\s+client_secret_basic\s+client_credentials\s+inventory:reserve payments:charge\s+inventory$/,
    );
    const json = tessera(['clients', 'list', '--db', db, '--json']);
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(parsed.map((client) => client.confidential)).toEqual([true, true, false]);
    expect(json.stdout).not.toContain('secret_hash');
    expect(parsed[2]?.backchannel_logout_uri).toBe('http://127.0.0.1:8080/auth/backchannel-logout');
    expect(parsed[2]?.allowed_origins).toEqual(['http://127.0.0.1:8080']);
    // --dpop-bound: RFC 9449 5.2's dpop_bound_access_tokens, off unless asked for.
    expect(parsed.map((client) => client.dpop_bound_access_tokens)).toEqual([false, false, true]);
    // --dpop-bound-subjects: token exchange of subjects bound to its callers' keys, off unless asked for.
    expect(parsed.map((client) => client.dpop_bound_subject_tokens)).toEqual([false, true, false]);
  });

  it('the generated secret works at a running token service', async () => {
    const running = await startService([]);
    try {
      const response = await fetch(`${running.url}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`orders:${secret}`).toString('base64')}`,
        },
        body: 'grant_type=client_credentials',
      });
      expect(response.status).toBe(200);
    } finally {
      expect(await stop(running)).toBe(0);
    }
  });

  it('removes a client; removing an unknown one fails with exit 1', () => {
    const removed = tessera(['clients', 'remove', 'billing', '--db', db]);
    expect(removed.status).toBe(0);
    expect(removed.stdout).toBe('removed client billing\n');
    const again = tessera(['clients', 'remove', 'billing', '--db', db]);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe('tessera: no client "billing"\n');
  });

  it('adds a tls_client_auth client with certificate-bound tokens (RFC 8705), and refuses one without its subject', () => {
    const flags = '--auth-method tls_client_auth --tls-subject-dn CN=orders,O=Shop --certificate-bound';
    const added = tessera([
      'clients',
      'add',
      'orders-mtls',
      '--db',
      db,
      ...flags.split(' '),
      '--audience',
      'inventory',
    ]);
    expect(added.status).toBe(0);
    expect(added.stdout).toBe('added client orders-mtls (tls_client_auth)\n');
    const parsed = JSON.parse(tessera(['clients', 'list', '--db', db, '--json']).stdout) as Record<
      string,
      unknown
    >[];
    expect(parsed.find((client) => client.client_id === 'orders-mtls')).toMatchObject({
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_subject: { field: 'tls_client_auth_subject_dn', value: 'CN=orders,O=Shop' },
      tls_client_certificate_bound_access_tokens: true,
      confidential: true,
    });
    const noSubject = tessera(['clients', 'add', 'bare', '--db', db, '--auth-method', 'tls_client_auth']);
    expect(noSubject.status).toBe(1);
    expect(noSubject.stderr).toMatch(/^tessera: client bare: tls_client_auth needs exactly one of /);
    expect(tessera(['clients', 'remove', 'orders-mtls', '--db', db]).status).toBe(0);
  });
});

describe('tessera keys (spawned, SQLite file)', { timeout: 60_000 }, () => {
  interface Key {
    kid: string;
    alg: string;
    state: string;
  }
  const keys = () => JSON.parse(tessera(['keys', 'list', '--db', db, '--json']).stdout) as Key[];

  it('lists one active key per algorithm', () => {
    const listed = tessera(['keys', 'list', '--db', db]);
    expect(listed.status).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^KID\s+ALG\s+STATE\s+CREATED\s+PUBLISHED_UNTIL$/);
    expect(
      keys()
        .map((key) => `${key.alg}:${key.state}`)
        .sort(),
    ).toEqual(['ES256:active', 'EdDSA:active', 'RS256:active']);
  });

  it('rotate publishes a next key at a running service before it signs, then makes it sign', async () => {
    const running = await startService(['--key-reload-interval', '100']);
    try {
      const activeBefore = keys().find((key) => key.alg === 'EdDSA' && key.state === 'active')?.kid;
      const first = tessera(['keys', 'rotate', '--db', db, '--alg', 'EdDSA']);
      expect(first.status).toBe(0);
      const next = /^EdDSA: published next key (\S+); it signs after the next rotate\n$/.exec(
        first.stdout,
      )?.[1];
      expect(next).toBeDefined();
      const jwks = async () =>
        ((await (await fetch(`${running.url}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map(
          (k) => k.kid,
        );
      await expect.poll(jwks, { timeout: 5000, interval: 50 }).toContain(next);
      // Published, but not signing yet.
      expect(keys().find((key) => key.alg === 'EdDSA' && key.state === 'active')?.kid).toBe(activeBefore);

      // At once, the next key may not be served by every instance yet: refused, nothing changed.
      const early = tessera(['keys', 'rotate', '--db', db, '--alg', 'EdDSA']);
      expect(early.status).toBe(1);
      expect(early.stderr).toMatch(
        /^tessera: a next key was published too recently to sign \(instances and verifiers may not have it yet\): run again in \d+ s, or with --wait\n$/,
      );
      expect(keys().find((key) => key.alg === 'EdDSA' && key.state === 'active')?.kid).toBe(activeBefore);

      // Two reloads of the running service (100 ms) are enough here: --wait waits them out.
      const second = tessera([
        'keys',
        'rotate',
        '--db',
        db,
        '--alg',
        'EdDSA',
        '--publish-ahead',
        '1',
        '--wait',
      ]);
      expect(second.status).toBe(0);
      expect(second.stdout).toMatch(
        new RegExp(
          `^EdDSA: ${next} now signs; the previous key stays published until \\S+Z; published next key \\S+\\n$`,
        ),
      );
      const states = keys().filter((key) => key.alg === 'EdDSA');
      expect(states.find((key) => key.kid === activeBefore)?.state).toBe('retired');
      expect(states.find((key) => key.kid === next)?.state).toBe('active');
      // The retired key stays in the JWKS: tokens it signed still verify.
      await expect
        .poll(jwks, { timeout: 5000, interval: 50 })
        .toEqual(expect.arrayContaining([activeBefore, next]));
    } finally {
      expect(await stop(running)).toBe(0);
    }
  });

  it('refuses an unknown algorithm as a usage error', () => {
    const bad = tessera(['keys', 'rotate', '--db', db, '--alg', 'HS256']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('tessera: --alg must be one of EdDSA, ES256, RS256\n');
  });

  it('with another secret, fails with one line', () => {
    const wrong = tessera(['keys', 'list', '--db', db], { env: { ...env, TESSERA_SECRET: 'x'.repeat(40) } });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(wrong.stderr).toMatch(/^tessera: .*secret/);
  });
});

describe('tessera token-service (spawned, SQLite file) (docs/security.md K132, K134)', {
  timeout: 60_000,
}, () => {
  it('starts with a seed, serves discovery and client_credentials for a seeded client, stops on SIGTERM', async () => {
    const seed = join(dir, 'seed.yaml');
    writeFileSync(
      seed,
      [
        'clients:',
        '  - client_id: seeded',
        '    client_secret: seeded-secret-0123456789abcdef-0123456789',
        '    grant_types: [client_credentials]',
        '    scopes: [inventory:reserve]',
        '    audiences: [inventory]',
        'users:',
        '  - username: alice',
        '    password: alice-password',
        '    claims: { name: Alice }',
        '',
      ].join('\n'),
    );
    const running = await startService(['--seed', seed]);
    try {
      expect(running.output()).toContain('clients 1 created, 0 updated, 0 unchanged; users 1 created');
      const discovery = (await (await fetch(`${running.url}/.well-known/openid-configuration`)).json()) as {
        issuer: string;
        token_endpoint: string;
      };
      expect(discovery.issuer).toBe(running.url);
      const response = await fetch(discovery.token_endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from('seeded:seeded-secret-0123456789abcdef-0123456789').toString('base64')}`,
        },
        body: 'grant_type=client_credentials',
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { access_token: string; scope: string };
      expect(body.scope).toBe('inventory:reserve');
      const payload = JSON.parse(
        Buffer.from(body.access_token.split('.')[1] ?? '', 'base64url').toString(),
      ) as {
        iss: string;
        aud: unknown;
      };
      expect(payload).toMatchObject({ iss: running.url, aud: 'inventory' });
    } finally {
      expect(await stop(running)).toBe(0);
    }
    expect(running.output()).toContain('SIGTERM, stopping');
    // The secret never reaches the output.
    expect(running.output()).not.toContain('seeded-secret');
  });

  it('applies the same seed again without changing anything', async () => {
    const running = await startService(['--seed', join(dir, 'seed.yaml')]);
    expect(await stop(running)).toBe(0);
    expect(running.output()).toContain(
      'clients 0 created, 0 updated, 1 unchanged; users 0 created, 1 already there',
    );
  });

  it('--metrics-listen serves /metrics on its own port only; /readyz answers on the public port', async () => {
    const metricsPort = await freePort();
    const running = await startService(['--metrics-listen', `127.0.0.1:${metricsPort}`]);
    try {
      expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
      expect((await fetch(`${running.url}/metrics`)).status).toBe(404);
      const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('tessera_tokens_issued_total');
    } finally {
      expect(await stop(running)).toBe(0);
    }
  });

  it('refuses a malformed --metrics-listen and two ways of serving /metrics as usage errors', () => {
    const malformed = tessera(['token-service', '--db', db, '--metrics-listen', 'localhost']);
    expect(malformed.status).toBe(2);
    expect(malformed.stderr).toContain('--metrics-listen must be HOST:PORT');
    const both = tessera([
      'token-service',
      '--db',
      db,
      '--metrics-listen',
      '127.0.0.1:1',
      '--metrics-public',
    ]);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('give one of --metrics-listen, TESSERA_METRICS_TOKEN and --metrics-public');
  });

  it('refuses a non-loopback http issuer with one line and exit 1', () => {
    const refused = tessera(['token-service', '--db', db, '--issuer', 'http://auth.example.com']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe(
      'tessera: --issuer http://auth.example.com is plain http on a host that is not loopback; use https, or --allow-insecure-issuer for development only\n',
    );
  });

  it('refuses a --trust-proxy entry that is not an address or a CIDR block as a usage error', () => {
    const refused = tessera(['token-service', '--db', db, '--trust-proxy', '127.0.0.1,loopback']);
    expect(refused.status).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain('--trust-proxy takes IP addresses or CIDR blocks');
  });

  it('--trust-proxy 127.0.0.1: the login limit counts the client named by X-Forwarded-For', async () => {
    const seed = join(dir, 'proxy-seed.yaml');
    writeFileSync(
      seed,
      [
        'clients:',
        '  - client_id: proxied-web',
        '    redirect_uris: [http://127.0.0.1:8080/cb]',
        '    grant_types: [authorization_code]',
        '    scopes: [openid]',
        '    audiences: [orders]',
        '    first_party: true',
        '',
      ].join('\n'),
    );
    const running = await startService([
      '--seed',
      seed,
      '--trust-proxy',
      '10.9.0.0/16',
      '--trust-proxy',
      '127.0.0.1',
    ]);
    try {
      const params = new URLSearchParams({
        client_id: 'proxied-web',
        redirect_uri: 'http://127.0.0.1:8080/cb',
        response_type: 'code',
        scope: 'openid',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      });
      const failFrom = async (client: string, username: string): Promise<number> => {
        const page = await fetch(`${running.url}/authorize?${params}`);
        const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0] as string;
        const html = await page.text();
        const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? '';
        const answer = await fetch(`${running.url}/login`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            cookie,
            'x-forwarded-for': client,
          },
          body: new URLSearchParams({
            interaction: field('interaction'),
            csrf: field('csrf'),
            username,
            password: 'wrong',
            action: 'login',
          }).toString(),
          redirect: 'manual',
        });
        await answer.arrayBuffer();
        return answer.status;
      };
      for (let i = 0; i < 20; i += 1) expect(await failFrom('203.0.113.5', `guess-${i}`)).toBe(401);
      expect(await failFrom('203.0.113.5', 'guess-last')).toBe(429);
      expect(await failFrom('203.0.113.6', 'another')).toBe(401);
    } finally {
      expect(await stop(running)).toBe(0);
    }
  });

  it('refuses a bad seed file with one line naming the path', () => {
    const seed = join(dir, 'bad-seed.yaml');
    writeFileSync(
      seed,
      'clients:\n  - client_id: a\n    client_secret: a-secret-that-must-not-be-printed\n    redirect_uri: [x]\n',
    );
    const refused = tessera(['token-service', '--db', db, '--seed', seed]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe(`tessera: seed file ${seed}, line 4: clients[0].redirect_uri: unknown key\n`);
  });

  it('without TESSERA_SECRET, a loopback issuer generates a dev secret file (0600) once, with a warning', async () => {
    const devDb = `sqlite:${join(dir, 'dev', 'tessera.db')}`;
    const first = tessera(['keys', 'list', '--db', devDb], { env: { PATH: env.PATH } });
    expect(first.status).toBe(0);
    expect(first.stderr).toContain('WARNING: TESSERA_SECRET is not set');
    const file = join(dir, 'dev', 'secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The same file is used again: the keys sealed with it still open.
    const second = tessera(['keys', 'list', '--db', devDb], { env: { PATH: env.PATH } });
    expect(second.status).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).not.toContain('readable by other users');
    chmodSync(file, 0o644);
    const loose = tessera(['keys', 'list', '--db', devDb], { env: { PATH: env.PATH } });
    expect(loose.status).toBe(0);
    expect(loose.stderr).toContain(`WARNING: ${file} is readable by other users; chmod 600 it`);
  });

  it('without TESSERA_SECRET, a non-loopback issuer is refused', () => {
    const refused = tessera(
      [
        'token-service',
        '--db',
        `sqlite:${join(dir, 'other', 't.db')}`,
        '--issuer',
        'https://auth.example.com',
      ],
      { env: { PATH: env.PATH } },
    );
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe(
      'tessera: set TESSERA_SECRET: a development secret file is generated only for a loopback issuer\n',
    );
  });

  it('serves HTTPS with --tls-cert and --tls-key (docs/security.md I96), and wants both', async () => {
    const keyFile = join(dir, 'tls-key.pem');
    const certFile = join(dir, 'tls-cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1']
        .concat(['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'])
        .concat(['-keyout', keyFile, '-out', certFile]),
      { stdio: 'ignore' },
    );
    const running = await startService(['--tls-cert', certFile, '--tls-key', keyFile], 'https');
    try {
      expect(running.output()).toContain(`issuer ${running.url}, listening on ${running.url}`);
      const ca = readFileSync(certFile, 'utf8');
      const body = await new Promise<string>((resolve, reject) => {
        get(`${running.url}/.well-known/openid-configuration`, { ca }, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            text += chunk;
          });
          response.on('end', () => resolve(text));
        }).on('error', reject);
      });
      expect((JSON.parse(body) as { issuer: string }).issuer).toBe(running.url);
    } finally {
      expect(await stop(running)).toBe(0);
    }
    const half = tessera(['token-service', '--db', db, '--tls-cert', certFile]);
    expect(half.status).toBe(2);
    expect(half.stderr).toBe('tessera: --tls-cert and --tls-key go together\n');
  });
});
