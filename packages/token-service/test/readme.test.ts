import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tokenServiceErrorCodes } from '../src/errors.js';
import { oauthErrorCodes, oauthErrorMeanings } from '../src/lib/oauth-error.js';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
// Inside the package, so the example's imports of @tessera/* resolve as they would for a user.
const dir = mkdtempSync(fileURLToPath(new URL('./.readme-example-', import.meta.url)));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function row(code: string, status: number, meaning: string): RegExp {
  return new RegExp(
    `\\|\\s*\`${escapeRegExp(code)}\`\\s*\\|\\s*${status}\\s*\\|\\s*${escapeRegExp(meaning)}\\s*\\|`,
  );
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('README', () => {
  it('documents every OAuth error code with its status and meaning', () => {
    for (const [code, status] of Object.entries(oauthErrorCodes)) {
      expect(readme).toMatch(row(code, status, oauthErrorMeanings[code as keyof typeof oauthErrorCodes]));
    }
  });

  it('documents every operator error code', () => {
    for (const [code, meaning] of Object.entries(tokenServiceErrorCodes)) {
      expect(readme).toMatch(
        new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*\\d{3}\\s*\\|\\s*${escapeRegExp(meaning)}\\s*\\|`),
      );
    }
  });

  it('has an example that runs and prints what it says', async () => {
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const port = String(await freePort());
    const source = (block as string)
      .replace(
        "from '@tessera/token-service'",
        `from ${JSON.stringify(pathToFileURL(fileURLToPath(new URL('../src/index.ts', import.meta.url))).href)}`,
      )
      .replaceAll('9000', port);
    const file = join(dir, 'example.ts');
    writeFileSync(file, source);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await import(/* @vite-ignore */ pathToFileURL(file).href);
      expect(log).toHaveBeenCalledWith('Bearer', 300, 'inventory:reserve');
    } finally {
      log.mockRestore();
    }
  });
});
