import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/support/logs.js';
import { type RawAnswer, rawRequest } from '../../../test/support/raw-http.js';
import { type Echo, startUpstream, type Upstream } from '../../../test/support/upstream.js';
import { createGateway } from '../src/app.js';
import { type GatewayConfigInput, parseGatewayConfig } from '../src/config.js';
import { PAGE_ASSET_PREFIX, PAGE_CALLBACK_PATH, type PageLogin, registerPage } from '../src/page/index.js';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const assets = new URL('../src/page/assets/', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'tessera-gateway-page-'));
const servers: FastifyInstance[] = [];
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
});

afterAll(async () => {
  for (const server of servers) await server.close();
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

async function listen(app: FastifyInstance): Promise<string> {
  servers.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function gateway(input: GatewayConfigInput): Promise<string> {
  return listen(
    await createGateway(parseGatewayConfig(input), {
      logDestination: new LogCapture(),
      sessionReferenceKeys: { orders: { id: 'k1', secret: 'page-test-session-reference-secret-0123456789' } },
    }),
  );
}

/** node:http, so the request target goes out exactly as written (no dot-segment clean-up). */
function call(base: string, path: string, method = 'GET'): Promise<RawAnswer> {
  return rawRequest(base, path, { method });
}

describe('the page links the latest comparison report when pageReport is set', () => {
  const report = join(dir, 'latest.html');
  let base: string;
  beforeAll(async () => {
    base = await gateway({
      routes: [{ prefix: '/api', upstream: upstream.url, auth: 'public' }],
      pageReport: report,
    });
  });

  it('serves the file in a sandbox (inline script allowed, no origin, nothing fetched), read anew each time', async () => {
    expect((await call(base, '/')).text).toContain(`href="${PAGE_ASSET_PREFIX}/report"`);
    // No report written yet: 404, as any unknown asset.
    expect((await call(base, `${PAGE_ASSET_PREFIX}/report`)).status).toBe(404);
    writeFileSync(report, '<!doctype html><script>document.title = "run 1"</script>');
    const first = await call(base, `${PAGE_ASSET_PREFIX}/report`);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(first.headers['content-security-policy']).toBe(
      "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
        "img-src data:; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(first.headers['cache-control']).toBe('no-store');
    expect(first.text).toContain('run 1');
    writeFileSync(report, '<!doctype html><p>run 2</p>');
    expect((await call(base, `${PAGE_ASSET_PREFIX}/report`)).text).toContain('run 2');
  });
});

describe('the page at / (a gateway with public routes only)', () => {
  let base: string;
  beforeAll(async () => {
    base = await gateway({ routes: [{ prefix: '/api', upstream: upstream.url, auth: 'public' }] });
  });

  it('answers HTML with the strict CSP, nosniff, no referrer and no caching', async () => {
    const page = await call(base, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toBe(CSP);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.text).toContain(
      '<body data-login="none" data-mode="public" data-issuer="" data-client-id="" data-scope="">',
    );
  });

  it('has no inline script or style: every script and stylesheet is an asset that answers', async () => {
    const { text } = await call(base, '/');
    expect(text).not.toMatch(/<style|\sstyle=|\son[a-z]+=|javascript:/i);
    const scripts = [...text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toContain(`src="${PAGE_ASSET_PREFIX}/app.js"`);
      expect(body).toBe('');
    }
    const references = [...text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(references.sort()).toEqual([`${PAGE_ASSET_PREFIX}/app.css`, `${PAGE_ASSET_PREFIX}/app.js`]);
    for (const reference of references) expect((await call(base, reference)).status).toBe(200);
  });

  it('serves the assets with their content types, byte for byte from the package', async () => {
    for (const [name, type] of [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['app.css', 'text/css; charset=utf-8'],
    ] as const) {
      const asset = await call(base, `${PAGE_ASSET_PREFIX}/${name}`);
      expect(asset.status).toBe(200);
      expect(asset.headers['content-type']).toBe(type);
      expect(asset.headers['x-content-type-options']).toBe('nosniff');
      expect(asset.text).toBe(readFileSync(new URL(name, assets), 'utf8'));
    }
  });

  it('answers HEAD for the page and an asset without a body', async () => {
    const head = await call(base, `${PAGE_ASSET_PREFIX}/app.js`, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(head.text).toBe('');
    expect((await call(base, '/', 'HEAD')).headers['content-security-policy']).toBe(CSP);
  });

  it('answers an unknown asset with 404 JSON (the HTML template is not an asset)', async () => {
    for (const path of [
      '/nope.js',
      '/',
      '',
      '/index.html',
      '/app.js.map',
      '/APP.JS',
      '/app.js/x',
      '/report',
    ]) {
      const answer = await call(base, `${PAGE_ASSET_PREFIX}${path}`);
      expect(answer.status, path).toBe(404);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(answer.text)).toMatchObject({ error: 'not_found' });
    }
  });

  it('refuses path traversal under the asset prefix, however it is spelled', async () => {
    const secrets = [readFileSync(new URL('../package.json', import.meta.url), 'utf8'), 'export function'];
    for (const path of [
      '/../package.json',
      '/../../package.json',
      '/%2e%2e/%2e%2e/package.json',
      '/..%2f..%2fpackage.json',
      '/..%5c..%5cpackage.json',
      '/assets/../index.ts',
      '/./app.js',
      '/app.js%00.css',
    ]) {
      const answer = await call(base, `${PAGE_ASSET_PREFIX}${path}`);
      expect([400, 404], path).toContain(answer.status);
      expect(JSON.parse(answer.text)).toHaveProperty('error');
      for (const secret of secrets) expect(answer.text).not.toContain(secret.slice(0, 40));
    }
  });

  it('leaves every other path to the proxy', async () => {
    const echo = JSON.parse((await call(base, '/api/items')).text) as Echo;
    expect(echo.url).toBe('/api/items');
  });
});

describe('the login method reaches the page as data-login on <body>', () => {
  for (const login of ['form', 'redirect', 'none'] as const satisfies readonly PageLogin[]) {
    it(`registerPage(app, { login: '${login}' })`, async () => {
      const app = Fastify();
      registerPage(app, { login });
      const page = await call(await listen(app), '/');
      expect(page.status).toBe(200);
      expect(page.headers['content-security-policy']).toBe(CSP);
      expect(page.text).toContain(`<body data-login="${login}" data-mode="public"`);
      expect(page.text).not.toContain('{{');
    });
  }

  it('a gateway with session routes serves the sign-in form', async () => {
    const base = await gateway({
      session: { insecureHttpLocalhost: true },
      identity: { database: `sqlite:${join(dir, 'identity.db')}` },
      routes: [{ prefix: '/api/orders', upstream: upstream.url, auth: 'session', audience: 'orders' }],
    });
    expect((await call(base, '/')).text).toContain('<body data-login="form" data-mode="session"');
  });

  it('a token gateway without a page client says the page cannot sign in, and calls nobody', async () => {
    const base = await gateway({
      token: { issuer: 'https://id.example', audience: 'orders', jwksUri: 'https://id.example/jwks' },
      routes: [{ prefix: '/api/orders', upstream: upstream.url, auth: 'token' }],
    });
    const page = await call(base, '/');
    expect(page.text).toContain('<body data-login="none" data-mode="token" data-issuer="" data-client-id=""');
    expect(page.headers['content-security-policy']).toBe(CSP);
    expect((await call(base, PAGE_CALLBACK_PATH)).status).toBe(404);
  });
});

describe('token mode with a page client: the page signs users in itself', () => {
  let base: string;
  beforeAll(async () => {
    base = await gateway({
      token: {
        issuer: 'https://id.example/tenant',
        jwksUri: 'https://id.example/tenant/jwks',
        audience: ['orders', 'inventory'],
        pageClient: { clientId: 'shop-web', scopes: ['openid', 'orders:write'] },
      },
      routes: [{ prefix: '/api/orders', upstream: upstream.url, auth: 'token' }],
    });
  });

  it('tells the page the issuer, its client and the scope, and lets it call the token service origin only', async () => {
    const page = await call(base, '/');
    expect(page.text).toContain(
      '<body data-login="browser" data-mode="token" data-issuer="https://id.example/tenant" data-client-id="shop-web" data-scope="openid orders:write">',
    );
    // connect-src names the token service's origin, nothing wider; the rest stays as strict.
    expect(page.headers['content-security-policy']).toBe(
      CSP.replace("connect-src 'self'", "connect-src 'self' https://id.example"),
    );
  });

  it('serves the page at its callback path too, where it finishes the sign-in', async () => {
    const callback = await call(base, `${PAGE_CALLBACK_PATH}?code=abc&state=xyz`);
    expect(callback.status).toBe(200);
    expect(callback.text).toBe((await call(base, '/')).text);
    expect(callback.headers['content-security-policy']).toContain('https://id.example');
    expect(callback.headers['cache-control']).toBe('no-store');
  });

  it('escapes what it writes into the page', async () => {
    const app = Fastify();
    registerPage(app, {
      login: 'browser',
      mode: 'token',
      signIn: { issuer: 'https://id.example/"><script>x</script>', clientId: 'a"b', scopes: ['openid'] },
    });
    const { text } = await call(await listen(app), '/');
    expect(text).toContain('data-issuer="https://id.example/&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
    expect(text).toContain('data-client-id="a&quot;b"');
  });

  it('refuses a page client whose scopes lack openid, and login browser without a client', () => {
    expect(() =>
      parseGatewayConfig({
        token: {
          issuer: 'https://id.example',
          audience: 'orders',
          pageClient: { clientId: 'w', scopes: ['orders:read'] },
        },
        routes: [{ prefix: '/api', upstream: upstream.url, auth: 'token' }],
      }),
    ).toThrowError(/token\.pageClient\.scopes.*must include openid/s);
    expect(() => registerPage(Fastify(), { login: 'browser' })).toThrowError(TypeError);
  });
});

describe('when the page is not served', () => {
  it('page: false leaves / (and the asset prefix) to the proxy, which has no route for them', async () => {
    const base = await gateway({
      page: false,
      routes: [{ prefix: '/api', upstream: upstream.url, auth: 'public' }],
    });
    for (const path of ['/', `${PAGE_ASSET_PREFIX}/app.js`]) {
      const answer = await call(base, path);
      expect(answer.status, path).toBe(404);
      expect(answer.headers['content-security-policy']).toBeUndefined();
      expect(JSON.parse(answer.text)).toMatchObject({ error: 'not_found' });
    }
  });

  it('a route claiming / gets / proxied to its upstream', async () => {
    const base = await gateway({ routes: [{ prefix: '/', upstream: upstream.url, auth: 'public' }] });
    const answer = await call(base, '/');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-security-policy']).toBeUndefined();
    expect((JSON.parse(answer.text) as Echo).url).toBe('/');
  });
});
