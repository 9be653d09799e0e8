import { describe, expect, it } from 'vitest';
import { createServiceClient } from '../src/client/service-client.js';

const options = {
  tokenEndpoint: 'http://127.0.0.1:9/token',
  clientId: 'orders',
  clientSecret: 'orders-secret-0123456789abcdef-0123456789',
};

describe('createServiceClient options', () => {
  it.each([0, -1, 1.5, Number.NaN])('refuses cacheSize %s, naming it', (cacheSize) => {
    expect(() => createServiceClient({ ...options, cacheSize })).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_OPTION',
        message: 'cacheSize must be a positive whole number',
      }),
    );
  });

  it('takes a cacheSize of one', () => {
    expect(typeof createServiceClient({ ...options, cacheSize: 1 })).toBe('function');
  });
});
