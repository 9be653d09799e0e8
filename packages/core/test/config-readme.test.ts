import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { exampleRunner, firstExample, importing } from '../../../test/support/readme.js';
import { configErrorCodes } from '../src/errors/index.js';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
const section = readme.slice(readme.indexOf('\n## Config\n'));
const dir = mkdtempSync(join(tmpdir(), 'tessera-config-readme-'));
const examples = exampleRunner('config-readme');
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  examples.remove();
});

let runs = 0;
/** Runs the section's example against `yaml` as tessera.yaml, with an empty environment. */
async function runExample(yaml: string): Promise<void> {
  const configFile = join(dir, `tessera-${runs++}.yaml`);
  writeFileSync(configFile, yaml);
  const source = importing(
    importing(
      importing(
        firstExample(section),
        '@tessera/core/config',
        new URL('../src/config/index.ts', import.meta.url),
      ),
      '@tessera/core',
      new URL('../src/index.ts', import.meta.url),
    ),
    // The example sits in a temporary directory, where a bare `zod` would not resolve.
    'zod',
    createRequire(import.meta.url).resolve('zod'),
  )
    .replace("file: 'tessera.yaml'", `file: ${JSON.stringify(configFile)}`)
    .replace('env: process.env', 'env: {}');
  await examples.run(source);
}

describe('README: Config', () => {
  it('documents every config error code', () => {
    expect(section.length).toBeGreaterThan(100);
    for (const code of Object.keys(configErrorCodes))
      expect(section).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|`));
  });

  it('has an example that loads, warns and prints what it says', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await runExample('redis:\n  url: redis://127.0.0.1:6379\n');
      expect(log).toHaveBeenCalledWith(1800);
      expect(warn).toHaveBeenCalledWith('WARNING: redis has no password');
    } finally {
      log.mockRestore();
      warn.mockRestore();
    }
  });

  it('has an example whose error path prints one line per problem', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const exitCode = process.exitCode;
    try {
      await runExample('session:\n  idleTimeoutSeconds: -1\n');
      expect(error).toHaveBeenCalledTimes(1);
      expect(error.mock.calls[0]?.[0]).toMatch(
        /^shop: config file .*tessera-\d+\.yaml, line 2: session\.idleTimeoutSeconds: expected number to be >0$/,
      );
    } finally {
      error.mockRestore();
      process.exitCode = exitCode;
    }
  });
});
