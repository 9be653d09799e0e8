import { describe, expect, it } from 'vitest';
import { modulesLoadedBy, modulesOf } from '../../../test/support/loaded-modules.js';

// A gateway with token routes only verifies tokens and proxies: the user directory (argon2) and
// the SQL drivers come with session mode, loaded only when a session or hybrid route exists.
describe('what a token-mode gateway loads', () => {
  it('builds and closes without resolving @tessera/identity, argon2 or an SQL driver', async () => {
    const loaded = await modulesLoadedBy(`
      const { KeySet } = await import('@tessera/core');
      const { createGateway, parseGatewayConfig } = await import('@tessera/gateway');
      const config = parseGatewayConfig({
        token: { issuer: 'https://auth.test', audience: 'gateway' },
        routes: [{ prefix: '/api', upstream: 'http://127.0.0.1:9', auth: 'token' }],
      });
      const app = await createGateway(config, { tokenKeys: await KeySet.generate(), logDestination: { write() {} } });
      await app.ready();
      const answer = await app.inject({ url: '/api/x' });
      if (answer.statusCode !== 401) throw new Error('the token route did not refuse a request without a token');
      await app.close();
    `);
    expect(loaded.some((url) => url.includes('/packages/gateway/dist/auth/token.js'))).toBe(true);
    for (const name of ['@tessera/identity', '@node-rs/argon2', 'better-sqlite3', 'pg', 'kysely'])
      expect(modulesOf(loaded, name), name).toEqual([]);
  });
});
