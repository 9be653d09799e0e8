import { describe, expect, it } from 'vitest';

describe('httpRequestInfo', () => {
  it('reads a Node framework request; a header sent as a list counts as absent', async () => {
    const { httpRequestInfo } = await import('../src/http/request-info.js');
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
