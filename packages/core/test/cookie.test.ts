import { describe, expect, it } from 'vitest';
import { findCookie, relaxedCookies, serializeCookie } from '../src/http/cookie.js';

describe('findCookie', () => {
  it('finds one cookie by its exact name, verbatim', () => {
    expect(findCookie('a=1; sid=abc; b=2', 'sid')).toEqual({ count: 1, value: 'abc' });
    expect(findCookie('sid="abc"', 'sid')).toEqual({ count: 1, value: '"abc"' });
    expect(findCookie(undefined, 'sid')).toEqual({ count: 0, value: undefined });
  });

  it('does not take a longer name or a value that contains the name', () => {
    expect(findCookie('xsid=1; a=sid=2', 'sid')).toEqual({ count: 0, value: undefined });
  });

  it('counts a tossed cookie (two of one name) and gives no value', () => {
    expect(findCookie('sid=one; sid=two', 'sid')).toEqual({ count: 2, value: undefined });
  });
});

describe('serializeCookie', () => {
  it('always sets Path=/ and HttpOnly, Secure when asked', () => {
    expect(serializeCookie('n', 'v', { secure: true, sameSite: 'Lax', maxAgeSeconds: 60 })).toBe(
      'n=v; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax',
    );
    expect(serializeCookie('n', '', { secure: false, sameSite: 'Strict', maxAgeSeconds: 0 })).toBe(
      'n=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict',
    );
  });
});

describe('relaxedCookies', () => {
  it('relaxes only plain http to a loopback host, and only when the option is on', () => {
    const on = { insecureHttpLocalhost: true };
    expect(relaxedCookies(on, { protocol: 'http', host: 'localhost:3000' })).toBe(true);
    expect(relaxedCookies(on, { protocol: 'http', host: '[::1]:3000' })).toBe(true);
    expect(relaxedCookies(on, { protocol: 'https', host: 'localhost' })).toBe(false);
    expect(relaxedCookies(on, { protocol: 'http', host: 'shop.example' })).toBe(false);
    expect(relaxedCookies(on, { protocol: 'http', host: undefined })).toBe(false);
    expect(relaxedCookies({ insecureHttpLocalhost: false }, { protocol: 'http', host: 'localhost' })).toBe(
      false,
    );
  });
});
