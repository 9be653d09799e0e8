import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { errorTableRows, expectErrorTables } from '../../../test/support/error-tables.js';
import { tokenServiceErrorRegistry } from '../src/errors.js';
import { type OAuthWireError, oauthCodeOf, oauthErrors } from '../src/lib/oauth-error.js';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
// Inside the package, so the example's imports of @tessera/* resolve as they would for a user.
const dir = mkdtempSync(fileURLToPath(new URL('./.readme-example-', import.meta.url)));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('README', () => {
  it('documents every code with its status and meaning, and the OAuth error each one sends', () => {
    expectErrorTables(readme, tokenServiceErrorRegistry);
    for (const [error, { status }] of Object.entries(oauthErrors)) {
      expect(
        errorTableRows(readme)
          .get(oauthCodeOf(error as OAuthWireError))
          ?.slice(0, 2),
      ).toEqual([String(status), `\`${error}\``]);
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
