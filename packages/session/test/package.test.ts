import { describe, expect, it } from 'vitest';

// Imports by package name, as a user would: the exports map and the built dist/ (run `npx tsc -b`).
describe('package exports', () => {
  it('exposes the core, the Fastify plugin and the Express middleware', async () => {
    const core = await import('@tessera/session');
    expect(typeof core.createSessionManager).toBe('function');
    expect(Object.keys(core.sessionErrorCodes)).toContain('session_store_unavailable');
    expect(typeof core.RequestSession).toBe('function');
    const fastify = await import('@tessera/session/fastify');
    expect(typeof fastify.fastifySession).toBe('function');
    const express = await import('@tessera/session/express');
    expect(typeof express.expressSession).toBe('function');
    expect(typeof express.sessionOf).toBe('function');
  });
});
