import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { exampleRunner, firstExample, importing } from '../../../test/support/readme.js';
import { IdentityError, INVALID_CREDENTIALS_MESSAGE, identityErrorCodes } from '../src/index.js';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
// Every import of the example is rewritten to a resolved file URL, so it can live in a temp dir.
const examples = exampleRunner('identity-readme');
const require = createRequire(import.meta.url);

afterAll(() => {
  examples.remove();
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
    let source = importing(
      firstExample(readme),
      '@tessera/identity',
      new URL('../src/index.ts', import.meta.url),
    );
    source = importing(source, '@tessera/storage/sql', require.resolve('@tessera/storage/sql'));
    source = importing(source, '@tessera/storage', require.resolve('@tessera/storage'));
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await examples.run(source);
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
