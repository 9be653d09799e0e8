import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { afterAll, describe, expect, it } from 'vitest';

// What `npm install` left in this checkout: in CI it is a fresh clone after `npm ci`, so these
// tests are the "works on a fresh clone" check of the install itself.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
};
const dir = mkdtempSync(join(tmpdir(), 'tessera-install-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(command: string, args: string[], cwd = root) {
  return spawnSync(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('the installed command', () => {
  it('npx tessera runs from the checkout, as the start banner and the READMEs print it', () => {
    const result = run('npx', ['--no-install', 'tessera', '--version']);
    expect(result.stderr).not.toMatch(/not found/);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${manifest.version}\n`);
  });

  it('before the first build the launcher says so in one line and exits 1', () => {
    // A copy of the launcher with no dist/ beside it, as right after `npm install`.
    const copy = join(dir, 'cli');
    cpSync(join(root, 'packages/cli/bin'), join(copy, 'bin'), { recursive: true });
    cpSync(join(root, 'packages/cli/package.json'), join(copy, 'package.json'));
    const result = run(process.execPath, [join(copy, 'bin/tessera.js'), '--version'], copy);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'tessera: the command is not built yet: run `npm run build` in the repository\n',
    );
  });

  it('every installed package accepts the Node.js versions the workspace declares', () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
    };
    const floor = semver.minVersion(rootManifest.engines.node)?.version;
    expect(floor).toBeDefined();
    const refusing = Object.entries(lock.packages)
      .filter(([, entry]) => {
        const node = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        return node !== undefined && !semver.satisfies(floor as string, node);
      })
      .map(([path, entry]) => `${path}@${entry.version}`);
    expect(refusing).toEqual([]);
  });
});
