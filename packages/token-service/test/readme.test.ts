import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { errorTableRows, expectErrorTables } from '../../../test/support/error-tables.js';
import { exampleRunner, firstExample, importing } from '../../../test/support/readme.js';
import { tokenServiceErrorRegistry } from '../src/errors.js';
import { type OAuthWireError, oauthCodeOf, oauthErrors } from '../src/lib/oauth-error.js';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
// Inside the package, so the example's imports of @tessera/* resolve as they would for a user.
const examples = exampleRunner('readme-example', new URL('.', import.meta.url));

afterAll(() => {
  examples.remove();
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
