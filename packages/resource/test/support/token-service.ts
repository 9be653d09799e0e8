// The real token service for the resource tests: token-service's own test harness (one way to
// start it), over a temp SQLite database, publishing revocations on the caller's channel.
import type { Channel } from '@tessera/storage';
import type { ClientRegistration } from '@tessera/token-service';
import { sqlite } from '../../../../test/support/databases.js';
import { type Harness, startService } from '../../../../test/support/token-service/harness.js';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** The clients of the shop's back end: each service exchanges for the next hop's audience. */
export const clients: Record<'orders' | 'payments', ClientRegistration & { client_secret: string }> = {
  orders: {
    client_id: 'orders',
    client_secret: 'orders-secret-0123456789abcdef-0123456789',
    grant_types: ['client_credentials', TOKEN_EXCHANGE],
    scopes: ['payments:charge', 'inventory:read'],
    audiences: ['payments', 'inventory'],
  },
  payments: {
    client_id: 'payments',
    client_secret: 'payments-secret-0123456789abcdef-012345',
    grant_types: ['client_credentials', TOKEN_EXCHANGE],
    scopes: ['ledger:write'],
    audiences: ['ledger'],
  },
};

export interface RealTokenService {
  readonly url: string;
  readonly service: Harness['service'];
  /** A user token as the code flow issues it to the web client after alice signs in. */
  userToken(audience: readonly string[], scopes: readonly string[]): { token: string; jti: string };
  stop(): Promise<void>;
}

/** The real token service on a temp SQLite file, listening on 127.0.0.1:0, publishing on `channel`. */
export async function startTokenService(channel: Channel): Promise<RealTokenService> {
  const database = await sqlite.create();
  let harness: Harness;
  try {
    harness = await startService(database, { clients: Object.values(clients), channel });
  } catch (error) {
    await database.cleanup();
    throw error;
  }
  const { service } = harness;
  return {
    url: harness.url,
    service,
    userToken(audience, scopes) {
      const ctx = harness.context;
      return ctx.accessTokens.issue({
        subject: 'alice',
        clientId: 'shop-web',
        audience: [...audience],
        scopes: [...scopes],
        sessionId: 'sid-alice',
        authTime: Math.floor(ctx.now() / 1000) - 5,
      });
    },
    async stop() {
      await harness.stop();
      await database.cleanup();
    },
  };
}
