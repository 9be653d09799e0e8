import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitCodes, main } from '../src/main.js';
import { createProgram } from '../src/program.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-program-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `tessera ...args` in-process with captured output. */
async function run(args: string[], env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const code = await main(['node', 'tessera', ...args], env, {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
  });
  return { code, out, err };
}

describe('createProgram', () => {
  it('builds the program without parsing or printing anything', () => {
    const writes: string[] = [];
    const io = { out: (text: string) => writes.push(text), err: (text: string) => writes.push(text) };
    const program = createProgram({
      env: {},
      io,
      config: () => {
        throw new Error('not loaded while building');
      },
    });
    expect(program.name()).toBe('tessera');
    expect(program.commands.map((command) => command.name())).toContain('dev');
    expect(writes).toEqual([]);
  });
});

describe('main (in-process)', () => {
  it('serves the gateway on the port from the config', async () => {
    const file = join(dir, 'dev.json');
    writeFileSync(file, JSON.stringify({ dev: { port: 9090 } }));
    const { code, out } = await run(['-c', file, 'dev', '--mode', 'token', '--dry-run']);
    expect(code).toBe(exitCodes.ok);
    expect(out).toMatch(/^tessera dev: token mode$/m);
    expect(out).toMatch(/^ {2}gateway +http:\/\/127\.0\.0\.1:9090 /m);
  });

  it('applies TESSERA__* overrides from the environment it is given', async () => {
    const { code, out } = await run(['dev', '--dry-run'], { TESSERA__DEV__PORT: '8181' });
    expect(code).toBe(exitCodes.ok);
    expect(out).toContain('http://127.0.0.1:8181');
  });

  it('prints the insecure-setting warning loudly on stderr and still runs', async () => {
    const { code, err } = await run(['dev', '--mode', 'token', '--dry-run'], {
      TESSERA__DEV__HOST: '0.0.0.0',
    });
    expect(code).toBe(exitCodes.ok);
    expect(err).toMatch(
      /^tessera: WARNING: dev\.host is 0\.0\.0\.0: .*must not be reachable from other machines\n$/,
    );
  });

  it('refuses an unknown key from the environment with exit code 1', async () => {
    const { code, err } = await run(['dev'], { TESSERA__DEV__COLOUR: 'blue' });
    expect(code).toBe(exitCodes.failure);
    expect(err).toBe('tessera: environment variable TESSERA__DEV__COLOUR: dev.colour: unknown key\n');
  });

  it('prints one line per config problem', async () => {
    const file = join(dir, 'two.yaml');
    writeFileSync(file, 'dev:\n  port: 70000\n  extra: true\n');
    const { code, err } = await run(['--config', file, 'dev']);
    expect(code).toBe(exitCodes.failure);
    expect(err.trimEnd().split('\n')).toEqual([
      `tessera: config file ${file}, line 2: dev.port: expected number to be <=65535`,
      `tessera: config file ${file}, line 3: dev.extra: unknown key`,
    ]);
  });

  it('treats no command as a usage error (help on stderr, exit 2)', async () => {
    const { code, out, err } = await run([]);
    expect(code).toBe(exitCodes.usage);
    expect(out).toBe('');
    expect(err).toMatch(/^Usage: tessera/);
  });

  it('turns usage mistakes into one line and exit code 2', async () => {
    for (const args of [['dev', 'extra'], ['--config'], ['dve']]) {
      const { code, err } = await run(args);
      expect(code).toBe(exitCodes.usage);
      expect(err).toMatch(/^tessera: [^\n]+\n$/);
    }
  });

  it('shows help for one command with `help dev`, exit 0', async () => {
    const { code, out } = await run(['help', 'dev']);
    expect(code).toBe(exitCodes.ok);
    expect(out).toMatch(/^Usage: tessera dev/);
  });
});
