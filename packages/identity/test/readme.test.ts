import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { IdentityError, INVALID_CREDENTIALS_MESSAGE, identityErrorCodes } from '../src/index.js';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
// Every import of the example is rewritten to a resolved file URL, so it can live in a temp dir.
const dir = mkdtempSync(join(tmpdir(), 'tessera-identity-readme-'));
const require = createRequire(import.meta.url);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('error registry', () => {
  it('documents every code with its status and meaning', () => {
    for (const [code, meaning] of Object.entries(identityErrorCodes)) {
      const status = new IdentityError(code as keyof typeof identityErrorCodes, 'x').status;
      const row = new RegExp(
        `\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|\\s*${escapeRegExp(meaning)}\\s*\\|`,
      );
      expect(readme).toMatch(row);
    }
  });

  it('has unique codes that do not clash with core', async () => {
    const { errorCodeRegistry } = await import('@tessera/core');
    for (const code of Object.keys(identityErrorCodes)) expect(errorCodeRegistry).not.toHaveProperty(code);
  });

  it('gives each code a 4xx status, exposes its message and carries retryAfterSeconds only when asked', () => {
    for (const code of Object.keys(identityErrorCodes) as (keyof typeof identityErrorCodes)[]) {
      const error = new IdentityError(code, 'message');
      expect(error.status).toBeGreaterThanOrEqual(400);
      expect(error.status).toBeLessThan(500);
      expect(error.expose).toBe(true);
      expect(error.retryAfterSeconds).toBeUndefined();
    }
    expect(new IdentityError('login_rate_limited', 'm', { retryAfterSeconds: 3 }).retryAfterSeconds).toBe(3);
    expect(INVALID_CREDENTIALS_MESSAGE).toBe('invalid username or password');
  });
});

describe('README', () => {
  it('has a first example that runs and prints what it says', async () => {
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const source = (block as string)
      .replace(
        "from '@tessera/identity'",
        `from ${JSON.stringify(pathToFileURL(fileURLToPath(new URL('../src/index.ts', import.meta.url))).href)}`,
      )
      .replace(
        "from '@tessera/storage/sql'",
        `from ${JSON.stringify(pathToFileURL(require.resolve('@tessera/storage/sql')).href)}`,
      )
      .replace(
        "from '@tessera/storage'",
        `from ${JSON.stringify(pathToFileURL(require.resolve('@tessera/storage')).href)}`,
      );
    const file = join(dir, 'example.ts');
    writeFileSync(file, source);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await import(/* @vite-ignore */ pathToFileURL(file).href);
      expect(log.mock.calls).toEqual([
        [true, 'alice@example.com'],
        ['invalid_credentials', 401, 'invalid username or password'],
        [expect.stringMatching(/^end every session and token of [0-9a-f-]{36}: disabled \(local\)$/)],
      ]);
    } finally {
      log.mockRestore();
    }
  });
});
