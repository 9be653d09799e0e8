import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../test/support/chromium.js';
import { type CompareReport, type ModeReport, reportSchema } from '../src/schema.ts';
import { shopWorkload } from '../src/workload.ts';

// `tessera compare --quick` as a user runs it: the built command, every part a real process on
// 127.0.0.1, a private redis-server. The figures asserted are what the faults must do, never speed.
const bin = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tessera-compare-test-'));
const children = new Set<ChildProcess>();

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function compare(args: readonly string[], timeoutMs = 150_000): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [bin, 'compare', '--quick', '--reports', join(dir, 'reports'), ...args],
      { cwd: dir, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = (error as { code?: unknown } | null)?.code;
        if (error !== null && typeof code !== 'number') reject(new Error(`${error.message}\n${stderr}`));
        else resolve({ code: typeof code === 'number' ? code : 0, stdout, stderr });
      },
    );
    children.add(child);
  });
}

async function report(name: string, args: readonly string[]): Promise<CompareReport> {
  const file = join(dir, `${name}.json`);
  const run = await compare(['--json', file, ...args]);
  expect(run.code, run.stderr).toBe(0);
  const parsed = reportSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  return parsed.data as CompareReport;
}

function row(of: CompareReport, mode: string): ModeReport {
  const found = of.modes.find((entry) => entry.mode === mode);
  if (found === undefined) throw new Error(`no ${mode} row`);
  return found;
}

function fault(of: ModeReport, name: string) {
  const found = of.faults.find((entry) => entry.fault === name);
  if (found === undefined) throw new Error(`no ${name} in ${of.mode}`);
  return found;
}

/** Hops per request of the shop mix, the edge included: list items 2, list orders 2, an order 4. */
const shopHopsPerRequest = (() => {
  const weights = shopWorkload.requests.map((request) => request.weight);
  const hops = shopWorkload.requests.map((request) => (request.method === 'POST' ? 4 : 2));
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.reduce((sum, weight, i) => sum + weight * (hops[i] ?? 0), 0) / total;
})();

describe('tessera compare --quick (every part a process)', () => {
  it('session-redis and token: store_down fails and recovers sessions, token mode never fails; store ops; pushed revocation', async () => {
    const result = await report('store', [
      '--modes',
      'session-redis,token',
      '--faults',
      'store_down,key_rotated',
      '--html',
      join(dir, 'store.html'),
    ]);
    const sessions = row(result, 'session-redis');
    const tokens = row(result, 'token');

    const sessionOutage = fault(sessions, 'store_down');
    expect(sessionOutage.failed_requests).toBeGreaterThan(0);
    // The store answers again and the sessions work without anyone restarting anything.
    expect(sessionOutage.recovered_after_s).not.toBeNull();
    expect(sessionOutage.timeline.some((second) => (second.statuses['503'] ?? 0) > 0)).toBe(true);
    expect(sessionOutage.timeline.at(-1)?.failed).toBe(0);
    expect(fault(tokens, 'store_down').failed_requests).toBe(0);
    // Rotating the signing keys under load fails no verification; session mode has no keys to rotate.
    expect(fault(tokens, 'key_rotated').failed_requests).toBe(0);
    expect(sessions.faults.map((entry) => entry.fault)).toEqual(['store_down']);

    // Every hop of a session request reads the store; a token request reads it nowhere.
    expect(tokens.cost.store_ops_per_request).toBe(0);
    // In-flight requests at the edges of the window shift the ratio a little either way.
    expect(sessions.cost.store_ops_per_request ?? 0).toBeGreaterThanOrEqual(shopHopsPerRequest * 0.9);
    expect(sessions.cost.hops.every((hop) => hop.p50_ms !== null)).toBe(true);

    // Pushed revocation events: rejected at every service within a second.
    expect(tokens.revocation?.via).toBe('revoke');
    const rejections = Object.entries(tokens.revocation?.first_rejection_ms ?? {});
    expect(rejections.map(([where]) => where).sort()).toEqual(['edge', 'inventory', 'orders']);
    for (const [, ms] of rejections) {
      expect(ms).not.toBeNull();
      expect(ms ?? Number.POSITIVE_INFINITY).toBeLessThan(1000);
    }
    expect(sessions.revocation?.via).toBe('logout');

    // Who had to be asked: the store at every session hop, nobody to verify a token.
    expect(
      sessions.propagation.filter((p) => p.service !== 'gateway').every((p) => p.asked.includes('store')),
    ).toBe(true);
    expect(tokens.propagation.find((p) => p.service === 'inventory')?.asked).toEqual(['nobody']);
    expect(
      tokens.propagation.find((p) => p.service === 'payments')?.proved.some((p) => p.startsWith('via:')),
    ).toBe(true);
    // A mode without a store has no store figure: null, not 0.
    expect(Object.keys(sessions.cost.cpu_ms_per_1000)).toEqual(
      expect.arrayContaining([
        'redis',
        'token-service',
        'orders',
        'inventory',
        'payments',
        'gateway-a',
        'gateway-b',
      ]),
    );
    // The run also wrote its reports where the demo page finds the latest one.
    expect(readdirSync(join(dir, 'reports'))).toEqual(expect.arrayContaining(['latest.json', 'latest.html']));
  }, 240_000);

  it('gateway_killed: session-memory loses the killed gateway’s sessions, session-redis loses none', async () => {
    const result = await report('killed', [
      '--modes',
      'session-memory,session-redis',
      '--faults',
      'gateway_killed',
      '--no-revocation',
    ]);
    const memory = row(result, 'session-memory');
    const redis = row(result, 'session-redis');
    // Half the callers signed in at the killed gateway (A), half at B.
    expect(fault(memory, 'gateway_killed').credentials_lost).toBe(result.settings.credentials / 2);
    expect(fault(redis, 'gateway_killed').credentials_lost).toBe(0);
    expect(memory.cost.store_ops_per_request).toBeNull();
    expect(memory.cost.hops.every((hop) => hop.p50_ms === null && hop.credential_bytes === null)).toBe(true);
    expect(memory.revocation).toBeNull();
  }, 180_000);

  it('token-dpop: every hop takes the token only with its holder’s proof, the token alone is refused, revocation is pushed; the proof ids live on the store', async () => {
    const file = join(dir, 'dpop.json');
    const run = await compare([
      '--json',
      file,
      '--modes',
      'token,token-dpop',
      '--faults',
      'store_down,key_rotated',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const result = reportSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    const tokens = row(result, 'token');
    const dpop = row(result, 'token-dpop');
    // The printed table has the row, as the JSON does.
    expect(run.stdout).toMatch(/^token-dpop +\d/m);
    expect(dpop.cost.requests_per_s).toBeGreaterThan(0);
    expect(dpop.cost.hops.every((hop) => hop.p50_ms !== null)).toBe(true);
    // The caller's token sent as it would be copied out of a request, alone: refused everywhere.
    expect(dpop.unproved_token).toEqual({ edge: 401, orders: 401, inventory: 401 });
    expect(tokens.unproved_token).toBeNull();
    // Every edge request carried a proof beside the token: more bytes than the bearer token alone.
    expect(dpop.cost.edge_credential_bytes ?? 0).toBeGreaterThan(
      (tokens.cost.edge_credential_bytes ?? 0) + 200,
    );
    // Each service saw a token bound to a key and checked its proof (the probe reads the binding).
    for (const service of ['orders', 'inventory', 'payments']) {
      expect(dpop.propagation.find((p) => p.service === service)?.proved).toContain('key: DPoP proof');
      expect(tokens.propagation.find((p) => p.service === service)?.proved).not.toContain('key: DPoP proof');
    }
    expect(dpop.propagation.find((p) => p.service === 'gateway')?.asked).toContain(
      'token service (exchange for the upstream)',
    );
    // Revocation is pushed to the edge and the services as in token mode, proofs and all.
    expect(dpop.revocation?.via).toBe('revoke');
    const rejections = Object.entries(dpop.revocation?.first_rejection_ms ?? {});
    expect(rejections.map(([where]) => where).sort()).toEqual(['edge', 'inventory', 'orders']);
    for (const [, ms] of rejections) expect(ms ?? Number.POSITIVE_INFINITY).toBeLessThan(1000);
    expect(fault(dpop, 'key_rotated').failed_requests).toBe(0);
    // Unlike a bearer token, a proof's jti is remembered on the store: with it down, requests fail,
    // and they work again once it is back.
    expect(fault(tokens, 'store_down').failed_requests).toBe(0);
    const outage = fault(dpop, 'store_down');
    expect(outage.failed_requests).toBeGreaterThan(0);
    expect(outage.recovered_after_s).not.toBeNull();
    expect(outage.timeline.at(-1)?.failed).toBe(0);
  }, 240_000);

  it('draws every chart of the HTML report in Chromium, at 390 px and on a desktop, with no request out', async () => {
    const file = join(dir, 'store.html');
    expect(existsSync(file), 'the first test writes the page').toBe(true);
    const browser = await launchChromium();
    try {
      for (const width of [390, 1280]) {
        const context = await browser.newContext({ viewport: { width, height: 900 } });
        const page = await context.newPage();
        const problems: string[] = [];
        const requests: string[] = [];
        page.on('pageerror', (error) => problems.push(error.message));
        page.on('request', (request) => {
          if (!request.url().startsWith('file:')) requests.push(request.url());
        });
        await page.goto(pathToFileURL(file).href);
        const charts = page.locator('.chart');
        // Four cost charts and a timeline per fault of each mode (store_down twice, key_rotated once).
        await expect.poll(() => charts.count()).toBe(7);
        await expect.poll(() => page.locator('.chart[data-drawn="true"] canvas').count()).toBe(7);
        for (const canvas of await page.locator('.chart canvas').all()) {
          const box = await canvas.boundingBox();
          expect(box?.width ?? 0).toBeGreaterThan(200);
          expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual(width);
        }
        // Nothing wider than the screen but the scrolling tables.
        const overflow = (await page.evaluate('document.documentElement.scrollWidth')) as number;
        expect(overflow).toBeLessThanOrEqual(width);
        await page.screenshot({ path: join(dir, `report-${width}.png`), fullPage: true });
        expect(problems).toEqual([]);
        expect(requests).toEqual([]);
        await context.close();
      }
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('--hop-latency puts a delay on every hop behind the edge', async () => {
    const result = await report('latency', [
      '--modes',
      'token',
      '--faults',
      'none',
      '--no-revocation',
      '--hop-latency',
      '25',
    ]);
    const tokens = row(result, 'token');
    expect(result.settings.hop_latency_ms).toBe(25);
    // Every request crosses the gateway-to-service hop: 25 ms each way at least. A floor, not a speed.
    expect(tokens.cost.p50_ms ?? 0).toBeGreaterThanOrEqual(50);
    // Orders calls inventory and payments through delayed hops when it places an order.
    expect(result.modes[0]?.cost.requests_per_s).toBeGreaterThan(0);
  }, 120_000);

  it('--config: the workload goes through the user’s own routes to the user’s upstream, in the modes its routes allow', async () => {
    // The user's upstream: it records what reached it and answers every request.
    const seen: { path: string; authorization: string | undefined }[] = [];
    const upstream = createServer((request, response) => {
      seen.push({ path: request.url ?? '', authorization: request.headers.authorization });
      response.setHeader('content-type', 'application/json');
      response.end('{"ok":true}');
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    try {
      const port = (upstream.address() as AddressInfo).port;
      const config = join(dir, 'user-gateway.yaml');
      writeFileSync(
        config,
        [
          'listen: { host: 127.0.0.1, port: 8080 }',
          'token: { issuer: "http://127.0.0.1:9000", audience: orders }',
          'routes:',
          `  - { prefix: /api/echo, upstream: "http://127.0.0.1:${port}", auth: token, stripPrefix: true }`,
          '',
        ].join('\n'),
      );
      const mix = join(dir, 'user-mix.yaml');
      writeFileSync(
        mix,
        '- { method: GET, path: /api/echo/hello, weight: 3 }\n- { method: GET, path: /api/echo/bye }\n',
      );
      const result = await report('user-config', ['--config', config, '--workload', mix, '--faults', 'none']);
      // Token routes: the token modes, and no other.
      expect(result.modes.map((entry) => entry.mode)).toEqual(['token', 'token-nocache']);
      expect(result.settings.workload).toBe(mix);
      for (const entry of result.modes) {
        expect(entry.cost.requests_per_s).toBeGreaterThan(0);
        // No shop service ran: no hop is invented, and only the edge is described.
        expect(entry.cost.hops).toEqual([]);
        expect(entry.propagation.map((p) => p.service)).toEqual(['gateway']);
      }
      // The revoked token was refused at the edge of the user's route.
      expect(row(result, 'token').revocation?.first_rejection_ms.edge).not.toBeNull();
      // Both of the workload's requests reached the upstream with the prefix stripped and a bearer token.
      expect(new Set(seen.map((entry) => entry.path))).toEqual(new Set(['/hello', '/bye']));
      expect(seen.every((entry) => entry.authorization?.startsWith('Bearer ') === true)).toBe(true);
    } finally {
      upstream.close();
      upstream.closeAllConnections();
    }
  }, 150_000);

  it('--config refuses a mode none of its routes allows, and a config without --workload', async () => {
    const config = join(dir, 'user-gateway.yaml');
    const refused = await compare([
      '--config',
      config,
      '--workload',
      join(dir, 'user-mix.yaml'),
      '--modes',
      'hybrid',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      'tessera: --config: no route of the config can run in hybrid (its routes allow token, token-nocache)',
    );
    const alone = await compare(['--config', config]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--config needs --workload');
  });

  it('refuses a workload file that is not a list of requests, with one line and no stack', async () => {
    const file = join(dir, 'bad-mix.yaml');
    writeFileSync(file, '- method: FETCH\n  path: /api/orders/orders\n');
    const run = await compare(['--workload', file, '--modes', 'token']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^tessera: --workload .*bad-mix\.yaml: 0\.method/);
    expect(run.stderr).not.toContain('    at ');
  });

  it('stops every part it started on SIGINT', async () => {
    const child = spawn(
      process.execPath,
      [bin, 'compare', '--quick', '--modes', 'session-redis', '--reports', join(dir, 'reports')],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const started = Date.now();
    while (
      !stderr.includes('callers signed in') &&
      Date.now() - started < 60_000 &&
      child.exitCode === null
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stderr).toContain('callers signed in');
    const descendants = descendantsOf(child.pid as number);
    // redis-server, the token service, three services, two gateways.
    expect(descendants.length).toBeGreaterThanOrEqual(7);
    const exited = once(child, 'exit');
    child.kill('SIGINT');
    const [code] = await exited;
    expect(code).toBe(1);
    expect(stderr).toContain('SIGINT, stopping every part');
    for (const pid of descendants) expect(isAlive(pid), `process ${pid} outlived the run`).toBe(false);
  }, 90_000);
});

/** Every process below `pid`, from /proc. */
function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // It ended meanwhile.
    }
  }
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, of] of parents) {
      if (of === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie has ended; only its parent has not read its status yet.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}
