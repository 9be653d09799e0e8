import { describe, expect, it } from 'vitest';

// Imports by package name, as a user would: the exports map and the built dist/ (run `npx tsc -b`).
describe('package exports', () => {
  it('exposes the core, the Fastify plugin and the Express middleware', async () => {
    const core = await import('@tessera/session');
    expect(typeof core.createSessionManager).toBe('function');
    expect(Object.keys(core.sessionErrorCodes)).toContain('ERR_SESSION_STORE_UNAVAILABLE');
    expect(typeof core.httpRequestInfo).toBe('function');
    const fastify = await import('@tessera/session/fastify');
    expect(typeof fastify.fastifySession).toBe('function');
    const express = await import('@tessera/session/express');
    expect(typeof express.expressSession).toBe('function');
    expect(typeof express.sessionOf).toBe('function');
  });
});

describe('httpRequestInfo', () => {
  it('reads a Node framework request; a header sent as a list counts as absent', async () => {
    const { httpRequestInfo } = await import('@tessera/session');
    expect(
      httpRequestInfo({
        method: 'POST',
        protocol: 'https',
        headers: {
          host: 'op.example',
          cookie: 'a=1',
          origin: 'https://op.example',
          'sec-fetch-site': 'same-origin',
          'user-agent': 'test',
          'set-cookie': ['x=1'],
        },
        ip: '192.0.2.1',
      }),
    ).toEqual({
      method: 'POST',
      protocol: 'https',
      host: 'op.example',
      cookie: 'a=1',
      origin: 'https://op.example',
      secFetchSite: 'same-origin',
      userAgent: 'test',
      address: '192.0.2.1',
    });
    const bare = httpRequestInfo({
      method: 'GET',
      protocol: 'http',
      headers: { host: ['a', 'b'] as unknown as string },
    });
    expect(bare.host).toBeUndefined();
    expect(bare.address).toBeUndefined();
  });
});
