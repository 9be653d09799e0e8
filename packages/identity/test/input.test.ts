import { describe, expect, it } from 'vitest';
import {
  MAX_CLAIMS_BYTES,
  normalizeAddress,
  standardClaimsByScope,
  standardClaimsForScope,
  usernameKey,
  validateClaims,
  validateUsername,
} from '../src/index.js';

describe('usernames', () => {
  it('keys a username by NFKC and lower case, keeping the display form', () => {
    expect(usernameKey('Alice')).toBe('alice');
    expect(usernameKey('\uff21\uff4c\uff49\uff43\uff45')).toBe('alice'); // fullwidth
    expect(usernameKey('ﬁona')).toBe('fiona'); // ligature
    expect(usernameKey('Zoe\u0308')).toBe(usernameKey('Zo\u00eb')); // decomposed vs composed
    expect(validateUsername('Alice')).toBe('Alice');
    expect(validateUsername('\uff21\uff4c\uff49\uff43\uff45')).toBe('Alice');
  });

  it('refuses empty, long, spaced, control and invisible names', () => {
    for (const name of ['', 'a b', ' a', 'a\n', 'a\u0000', 'a\u200d', 'a\u00a0b', 'x'.repeat(65), 5]) {
      expect(() => validateUsername(name)).toThrow(expect.objectContaining({ code: 'ERR_USERNAME_INVALID' }));
    }
    expect(validateUsername('😀'.repeat(64))).toHaveLength(128); // 64 characters, 128 UTF-16 units
  });
});

describe('claims', () => {
  it('keeps standard claims and drops undefined ones', () => {
    expect(
      validateClaims({
        name: 'A',
        email: 'a@example.com',
        email_verified: false,
        phone_number_verified: true,
        address: { country: 'FR', formatted: '1 rue X\nParis' },
        nickname: undefined,
      }),
    ).toEqual({
      name: 'A',
      email: 'a@example.com',
      email_verified: false,
      phone_number_verified: true,
      address: { country: 'FR', formatted: '1 rue X\nParis' },
    });
    expect(validateClaims(undefined)).toEqual({});
  });

  it('refuses sub, unknown claims, wrong types, non-objects and oversized claims', () => {
    for (const claims of [
      { sub: 'x' },
      { updated_at: 1 },
      { roles: ['admin'] },
      { email_verified: 'true' },
      { address: 'Paris' },
      { address: { country: 1 } },
      [],
      'name',
      null,
      new Date(),
      { name: 'x'.repeat(MAX_CLAIMS_BYTES) },
      JSON.parse('{"__proto__": {"name": "x"}}'),
      { constructor: 'x' },
      { toString: 'x' },
    ]) {
      expect(() => validateClaims(claims)).toThrow(
        expect.objectContaining({ code: 'ERR_CLAIMS_INVALID', status: 400 }),
      );
    }
  });

  it('releases by scope exactly the claims of OpenID Connect Core 5.4, and nothing for other scopes', () => {
    expect(standardClaimsByScope).toEqual({
      profile: [
        'name',
        'family_name',
        'given_name',
        'middle_name',
        'nickname',
        'preferred_username',
        'profile',
        'picture',
        'website',
        'gender',
        'birthdate',
        'zoneinfo',
        'locale',
        'updated_at',
      ],
      email: ['email', 'email_verified'],
      address: ['address'],
      phone: ['phone_number', 'phone_number_verified'],
    });
    expect(Object.isFrozen(standardClaimsByScope)).toBe(true);
    expect(Object.isFrozen(standardClaimsByScope.profile)).toBe(true);
    expect(standardClaimsForScope('email')).toEqual(['email', 'email_verified']);
    for (const scope of ['openid', 'orders:read', 'constructor', '__proto__', 'toString']) {
      expect(standardClaimsForScope(scope)).toEqual([]);
    }
    // Every released claim but updated_at (kept by the directory) is one validateClaims accepts.
    for (const name of Object.values(standardClaimsByScope).flat()) {
      if (name === 'updated_at') continue;
      const value = name === 'address' ? {} : name.endsWith('_verified') ? true : 'x';
      expect(validateClaims({ [name]: value })).toEqual({ [name]: value });
    }
  });

  it('never echoes an unprintable claim name', () => {
    expect(() => validateClaims({ '<script>': 1 })).toThrow(
      'claim (unprintable name) is not an OpenID Connect standard claim',
    );
  });
});

describe('addresses', () => {
  it('treats IPv4-mapped IPv6 (either notation) as the IPv4 address and IPv6 as its /64', () => {
    expect(normalizeAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeAddress('::FFFF:c000:201')).toBe('192.0.2.1');
    expect(normalizeAddress(' 192.0.2.1 ')).toBe('192.0.2.1');
    expect(normalizeAddress(' 2001:DB8::1 ')).toBe('2001:db8:0:0::/64');
    expect(normalizeAddress('2001:db8:0:0:ffff:1:2:3')).toBe('2001:db8:0:0::/64');
    expect(normalizeAddress('2001:db8:0:1::1')).toBe('2001:db8:0:1::/64');
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(normalizeAddress('::1')).toBe('0:0:0:0::/64');
    expect(normalizeAddress('::')).toBe('0:0:0:0::/64');
    expect(normalizeAddress('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    // Not an address (a test harness, a unix socket): kept as given.
    expect(normalizeAddress('Unknown')).toBe('unknown');
  });
});
