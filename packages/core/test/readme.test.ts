import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tokenErrorCodes } from '../src/index.js';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'tessera-core-readme-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('README', () => {
  it('documents every token error code with its status and meaning', () => {
    for (const [code, { meaning }] of Object.entries(tokenErrorCodes)) {
      const status = code === 'ERR_JWKS_FETCH_FAILED' ? 503 : 401;
      // Cells may be padded by the formatter.
      const row = new RegExp(
        `\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|\\s*${escapeRegExp(meaning)}\\s*\\|`,
      );
      expect(readme).toMatch(row);
    }
  });

  it('has a first example that runs and prints what it says', async () => {
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const source = (block as string).replace(
      "from '@tessera/core'",
      `from ${JSON.stringify(pathToFileURL(fileURLToPath(new URL('../src/index.ts', import.meta.url))).href)}`,
    );
    const file = join(dir, 'example.ts');
    writeFileSync(file, source);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await import(/* @vite-ignore */ pathToFileURL(file).href);
      expect(log).toHaveBeenCalledWith('user-42', ['orders:read']);
    } finally {
      log.mockRestore();
    }
  });
});
