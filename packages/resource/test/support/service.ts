import Fastify, { type FastifyInstance } from 'fastify';
import { fastifyResource, requestSerializer } from '../../src/adapters/fastify.js';
import type { Policy } from '../../src/authorize/policy.js';
import { requireScope } from '../../src/authorize/policy.js';
import type { IdentitySource } from '../../src/identity/types.js';

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The JSON body; an error answer's is core's `{ error: { code, message } }`. */
  readonly body: Record<string, unknown> & {
    readonly error?: { readonly code: string; readonly message: string };
  };
}

/**
 * The service under test: Fastify on 127.0.0.1:0 protected by this library, with a route per kind
 * of check. Every answer is read through real HTTP.
 */
export async function startService(
  source: IdentitySource,
  routes: { readonly extra?: (app: FastifyInstance) => void; readonly policy?: Policy } = {},
): Promise<{ app: FastifyInstance; url: string; logs: string[] }> {
  const logs: string[] = [];
  const app = Fastify({
    logger: {
      level: 'trace',
      serializers: { req: requestSerializer },
      stream: { write: (line: string) => void logs.push(line) },
    },
  });
  await app.register(fastifyResource, {
    source,
    ...(routes.policy === undefined ? {} : { policy: routes.policy }),
  });
  app.get('/health', { config: { auth: false } }, async () => ({ ok: true }));
  app.get('/orders', async (request) => ({
    sub: request.principal?.subject,
    client: request.principal?.clientId,
  }));
  app.post('/orders', { config: { auth: { policy: requireScope('orders:write') } } }, async () => ({
    created: true,
  }));
  routes.extra?.(app);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, logs };
}

export async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON: the test looks at text.
  }
  return { status: response.status, headers: response.headers, text, body };
}

export function bearerHeader(token: string): RequestInit {
  return { headers: { authorization: `Bearer ${token}` } };
}
