import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { exampleRunner, firstExample, importing } from '../../../test/support/readme.js';
import { tokenErrorCodes } from '../src/index.js';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
const examples = exampleRunner('core-readme');

afterAll(() => {
  examples.remove();
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('README', () => {
  it('documents every token error code with its status and meaning', () => {
    for (const [code, meaning] of Object.entries(tokenErrorCodes)) {
      const status = code === 'ERR_JWKS_FETCH_FAILED' ? 503 : 401;
      // Cells may be padded by the formatter.
      const row = new RegExp(
        `\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|\\s*${escapeRegExp(meaning)}\\s*\\|`,
      );
      expect(readme).toMatch(row);
    }
  });

  it('has a first example that runs and prints what it says', async () => {
    const source = importing(
      firstExample(readme),
      '@tessera/core',
      new URL('../src/index.ts', import.meta.url),
    );
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await examples.run(source);
      expect(log).toHaveBeenCalledWith('user-42', ['orders:read']);
    } finally {
      log.mockRestore();
    }
  });
});
