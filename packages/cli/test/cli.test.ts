import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The built command, run as a user runs it: `npm test` builds first (the `pretest` script).
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tessera(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  // A clean environment: no TESSERA__* variable of the developer's shell leaks into the test.
  const result = spawnSync(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const stackLine = /^\s+at /m;

describe('the tessera command (spawned) (docs/security.md K131)', () => {
  it('--help lists the commands and options on stdout and exits 0', () => {
    const { status, stdout, stderr } = tessera('--help');
    expect(status).toBe(0);
    expect(stdout).toMatch(/^Usage: tessera \[options\] \[command\]/);
    expect(stdout).toMatch(/^\s+dev \[options\]\s+run the whole demo system/m);
    expect(stdout).toContain('--config <file>');
    expect(stdout).toContain('--version');
    expect(stderr).toBe('');
  });

  it('--version prints the package version', () => {
    const { status, stdout } = tessera('--version');
    expect(status).toBe(0);
    expect(stdout).toBe(`${manifest.version}\n`);
  });

  it('lists compare and keeps the internal shop-service out of --help', () => {
    const { stdout } = tessera('--help');
    expect(stdout).toMatch(/^\s+compare \[options\]\s+run the same shop services in each mode/m);
    expect(stdout).not.toMatch(/^\s+shop-service/m);
  });

  it('compare and shop-service refuse bad input with one line and exit 2, starting nothing', () => {
    for (const args of [
      ['compare', '--modes', 'token,carpool'],
      ['compare', '--faults', 'meteor'],
      ['compare', '--hop-latency', '-1'],
      ['shop-service', 'billing', '--issuer', 'http://127.0.0.1:9'],
      ['shop-service', 'inventory'],
      ['shop-service', 'inventory', '--mode', 'session', '--issuer', 'http://127.0.0.1:9'],
    ]) {
      const { status, stdout, stderr } = tessera(...args);
      expect(status, args.join(' ')).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^tessera: /);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).not.toMatch(stackLine);
    }
  });

  it('says in one line that the demo shop is not installed, where the published CLI has no shop', () => {
    // The published CLI only declares the (unpublished) shop as an optional peer: hide it as a
    // registry install would miss it, with a resolve hook that finds no such package.
    writeFileSync(
      join(dir, 'hide-shop.mjs'),
      `export async function resolve(specifier, context, next) {
        if (specifier !== '@tessera/example-shop') return next(specifier, context);
        throw Object.assign(new Error("Cannot find package '@tessera/example-shop'"), { code: 'ERR_MODULE_NOT_FOUND' });
      }`,
    );
    writeFileSync(
      join(dir, 'no-shop.mjs'),
      `import { register } from 'node:module';\nregister('./hide-shop.mjs', import.meta.url);\n`,
    );
    const result = spawnSync(
      process.execPath,
      [
        '--import',
        join(dir, 'no-shop.mjs'),
        bin,
        'shop-service',
        'inventory',
        '--issuer',
        'http://127.0.0.1:9',
      ],
      { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 15_000 },
    );
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'tessera: @tessera/example-shop is not installed: the demo shop runs from a checkout of the Tessera repository (npm install at its root)\n',
    );
  });

  it('shop-service, started with an IPC channel as compare starts it, exits by itself on SIGTERM', async () => {
    // The probe listens on the channel; a channel that held the event loop open would keep the
    // process waiting for compare's SIGKILL after the service had closed.
    const key = `orders=k1:${randomBytes(32).toString('base64url')}`;
    const child = spawn(
      process.execPath,
      [
        bin,
        'shop-service',
        'payments',
        '--mode',
        'session',
        '--redis',
        'redis://127.0.0.1:6379',
        '--issuer',
        'http://127.0.0.1:9',
        '--port',
        '0',
      ],
      {
        env: { PATH: process.env.PATH ?? '', TESSERA_SESSION_REFERENCE_ACCEPT: key },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      },
    );
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('listening on')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`exited ${code} before listening: ${out}`)));
      });
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code, signal] = await exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(out).toContain('tessera shop-service: SIGTERM, stopping');
    } finally {
      child.kill('SIGKILL');
    }
    // A bound for a process that never exits; a loaded machine starts one in several seconds.
  }, 30_000);

  it('dev --mode carpool exits 2 with one line naming the modes', () => {
    const { status, stdout, stderr } = tessera('dev', '--mode', 'carpool');
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^tessera: .*carpool.*hybrid, session, token/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('dev --dry-run prints the parts, the users and the mode (hybrid by default), and starts nothing', () => {
    const { status, stdout, stderr } = tessera('dev', '--dry-run');
    expect(status).toBe(0);
    expect(stdout).toMatch(/^tessera dev: hybrid mode$/m);
    expect(stdout).toContain('http://127.0.0.1:9000');
    expect(stdout).toContain('alice / alice-password, bob / bob-password');
    expect(stdout).toContain('open http://127.0.0.1:8080/ in a browser');
    expect(stdout).toContain('TESSERA_GATEWAY_CLIENT_SECRET=');
    expect(stderr).toBe('');
    const session = tessera('dev', '--dry-run', '--mode', 'session');
    expect(session.stdout).toMatch(/^tessera dev: session mode$/m);
    expect(session.stdout).toContain('TESSERA_SESSION_REFERENCE_KEYS=');
  });

  it('an unknown command exits 2 with one line on stderr and no stack', () => {
    const { status, stdout, stderr } = tessera('deploy');
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe("tessera: unknown command 'deploy'\n");
  });

  it.each(['dev', 'token-service'])(
    '%s --redis with something that is not a Redis URL exits 2 naming the flag',
    (command) => {
      const { status, stderr } = tessera(command, '--redis', 'notaurl');
      expect(status).toBe(2);
      expect(stderr).toBe(
        'tessera: --redis must be a redis:// or rediss:// URL (such as redis://127.0.0.1:6379)\n',
      );
    },
  );

  it.each([
    ['clients', 'add', 'partner', '--jwks-file', '<missing>'],
    ['token-service', '--tls-cert', '<missing>', '--tls-key', '<missing>'],
  ])('%s with a file flag naming a missing file says which flag and file (no raw ENOENT)', (...args) => {
    const missing = join(dir, 'no-such-file.json');
    const db = `sqlite:${join(dir, 'files.db')}`;
    const { status, stderr } = tessera(...args.map((a) => (a === '<missing>' ? missing : a)), '--db', db);
    expect(status).toBe(1);
    expect(stderr).toMatch(new RegExp(`^tessera: --(jwks-file|tls-cert) ${missing} does not exist\\n$`));
    expect(stderr).not.toContain('ENOENT');
  });

  it.each([
    ['token-service', ['--db', '<db>'], '--port', 'the token service'],
    ['dev', ['--dir', '<dir>'], '--token-service-port', 'the token service'],
  ])('%s on a taken port names the part and the flag that moves it', async (command, extra, flag, part) => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const { port } = taken.address() as AddressInfo;
    try {
      const args = extra.map((a) =>
        a === '<db>' ? `sqlite:${join(dir, 'port.db')}` : a === '<dir>' ? join(dir, 'dev-port') : a,
      );
      const { status, stderr } = tessera(command, ...args, flag, String(port));
      expect(status).toBe(1);
      expect(stderr).toContain(
        `tessera: ${part} cannot listen on 127.0.0.1:${port}: the port is taken (choose another with ${flag})\n`,
      );
      expect(stderr).not.toContain('EADDRINUSE');
    } finally {
      taken.close();
    }
  });

  it.each([['users', 'list'], ['token-service'], ['keys', 'list']])(
    '%s --db naming a directory that does not exist is refused, and nothing is created',
    (...command) => {
      const missing = join(dir, 'no-such-dir', 'deeper');
      const url = `sqlite:${join(missing, 'x.db')}`;
      const { status, stderr } = tessera(...command, '--db', url);
      expect(status).toBe(1);
      expect(stderr).toContain(
        `tessera: --db ${url}: the directory ${missing} does not exist (create it first)\n`,
      );
      expect(existsSync(join(dir, 'no-such-dir'))).toBe(false);
    },
  );

  it('an unknown option exits 2 with one line', () => {
    const { status, stderr } = tessera('dev', '--fast');
    expect(status).toBe(2);
    expect(stderr).toBe("tessera: unknown option '--fast'\n");
  });

  it('a bad --config file exits 1 with one line naming the file and the field', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'dev:\n  port: eighty\n');
    const { status, stdout, stderr } = tessera('--config', file, 'dev');
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(`tessera: config file ${file}, line 2: dev.port: expected number, got string\n`);
    expect(stderr).not.toMatch(stackLine);
  });

  it('a missing --config file exits 1 with one line', () => {
    const file = join(dir, 'missing.json');
    const { status, stderr } = tessera('--config', file, 'dev');
    expect(status).toBe(1);
    expect(stderr).toBe(`tessera: config file ${file}: does not exist\n`);
  });

  // The gateway command reads its own --config; a failure there exited 0 (process.exitCode was
  // overwritten by main's result).
  it.each([
    ['missing', undefined, (file: string) => `tessera: config file ${file}: does not exist\n`],
    ['malformed', 'routes: [\n', (file: string) => `tessera: config file ${file}: invalid YAML`],
    ['invalid', 'listen: {}\n', (file: string) => `tessera: config file ${file}, line 1: routes: required`],
  ])('gateway --config with a %s file exits 1 with one tessera: line', (name, content, expected) => {
    const file = join(dir, `gateway-${name}.yaml`);
    if (content !== undefined) writeFileSync(file, content);
    const { status, stdout, stderr } = tessera('gateway', '--config', file);
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.startsWith(expected(file))).toBe(true);
    expect(stderr).not.toMatch(stackLine);
  });
});
