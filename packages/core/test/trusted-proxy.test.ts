import { describe, expect, it } from 'vitest';
import { isTrustedProxyEntry } from '../src/index.js';

describe('isTrustedProxyEntry', () => {
  it('accepts an IP address or a CIDR block of either family', () => {
    for (const value of [
      '127.0.0.1',
      '10.0.0.0/8',
      '0.0.0.0/0',
      '192.0.2.1/32',
      '::1',
      '2001:db8::/32',
      '::/0',
      '::ffff:10.0.0.1',
      'fe80::/128',
    ]) {
      expect(isTrustedProxyEntry(value)).toBe(true);
    }
  });

  it('refuses names, netmasks, wildcards, bad prefix lengths and junk', () => {
    for (const value of [
      'loopback',
      'uniquelocal',
      '*',
      '',
      '10.0.0.0/255.0.0.0',
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/',
      '10.0.0.0/08',
      '10.0.0.0/-1',
      '10.0.0.1 ',
      'true',
      '300.0.0.1',
    ]) {
      expect(isTrustedProxyEntry(value)).toBe(false);
    }
  });
});
