import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../src/index.js';

describe('isLoopbackHost', () => {
  it('knows loopback as URL.hostname, a Host header and a listen address write it', () => {
    for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '[::1]', '::1'])
      expect(isLoopbackHost(host)).toBe(true);
  });

  it('refuses every other host, including look-alikes', () => {
    for (const host of [
      'example.com',
      '127.0.0.2',
      '0.0.0.0',
      'localhost.example.com',
      '[::2]',
      '',
      '127.0.0.1.nip.io',
    ])
      expect(isLoopbackHost(host)).toBe(false);
  });
});
