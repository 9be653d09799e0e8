import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { exampleRunner, firstExample, importing } from '../../../test/support/readme.js';
import { tokenServiceErrorCodes } from '../src/errors.js';
import { oauthErrorCodes, oauthErrorMeanings } from '../src/lib/oauth-error.js';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
// Inside the package, so the example's imports of @tessera/* resolve as they would for a user.
const examples = exampleRunner('readme-example', new URL('.', import.meta.url));

afterAll(() => {
  examples.remove();
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
    const port = String(await freePort());
    const source = importing(
      firstExample(readme),
      '@tessera/token-service',
      new URL('../src/index.ts', import.meta.url),
    ).replaceAll('9000', port);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await examples.run(source);
      expect(log).toHaveBeenCalledWith('Bearer', 300, 'inventory:reserve');
    } finally {
      log.mockRestore();
    }
  });
});
