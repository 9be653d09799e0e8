import { expect } from 'vitest';
import { eventually } from './eventually.js';
import type { PrivateRedisServer } from './redis-server.js';

// How a part's /readyz is seen from outside, and the one outage every part that depends on Redis
// is walked through; which dependencies a part names is the part's own test.

/** GET /readyz: its status and JSON body. */
export async function readiness(base: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${base}/readyz`);
  return { status: response.status, body: (await response.json()) as unknown };
}

/**
 * Walks the part at `base` through its private redis-server frozen (SIGSTOP), thawed, killed and
 * started again: `/readyz` is `ready` before, `frozen` while stopped, 503 while gone (a body that
 * never names the server's port, returned for more checks), ready again after each; `/healthz`
 * stays 200 throughout.
 */
export async function expectReadinessFollowsRedis(
  server: PrivateRedisServer,
  base: string,
  bodies: { readonly ready: unknown; readonly frozen: unknown },
): Promise<{ readonly down: unknown }> {
  const live = async () => expect((await fetch(`${base}/healthz`)).status).toBe(200);
  const readyAgain = () =>
    eventually(async () => expect((await readiness(base)).status).toBe(200), { timeoutMs: 15_000 });

  expect(await readiness(base)).toEqual({ status: 200, body: bodies.ready });
  server.pause();
  try {
    expect(await readiness(base)).toEqual({ status: 503, body: bodies.frozen });
    await live();
  } finally {
    server.resume();
  }
  await readyAgain();

  await server.kill();
  const down = await eventually(
    async () => {
      const answer = await readiness(base);
      expect(answer.status).toBe(503);
      return answer;
    },
    { timeoutMs: 15_000 },
  );
  expect(JSON.stringify(down.body)).not.toContain(String(server.port));
  await live();
  await server.start();
  await readyAgain();
  return { down: down.body };
}
