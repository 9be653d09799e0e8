import type { Principal } from '@tessera/core';
import { answerFor, bearerProtocol } from '@tessera/core';
import { describe, expect, it } from 'vitest';
import { enforce } from '../src/authorize/decide.js';
import {
  allOf,
  anyOf,
  predicate,
  requireAudience,
  requireClient,
  requireDelegation,
  requireScope,
} from '../src/authorize/policy.js';
import { isClientPrincipal, isUserPrincipal } from '../src/principal.js';

const base: Principal = Object.freeze({
  subject: 'alice',
  clientId: 'orders',
  scopes: ['payments:charge'],
  audience: ['payments'],
  issuer: 'https://issuer',
  tokenId: 'j',
  expiresAt: 2_000_000_000,
  issuedAt: 1_999_999_700,
  authTime: 1_999_999_000,
  actors: [{ subject: 'orders' }, { subject: 'gateway' }],
  claims: {},
});

describe('policies', () => {
  it('requireScope names every missing scope, through allOf too', () => {
    expect(requireScope('payments:charge')(base)).toBeUndefined();
    expect(requireScope('payments:refund', 'payments:charge')(base)?.missingScopes).toEqual([
      'payments:refund',
    ]);
    const refusal = allOf(requireScope('a'), requireClient('orders'), requireScope('b'))(base);
    expect(refusal?.missingScopes).toEqual(['a', 'b']);
    const answer = answerFor(
      captured(() => enforce(allOf(requireScope('a'), requireScope('b')), base)),
      bearerProtocol,
    );
    expect(answer.status).toBe(403);
    expect(answer.headers['www-authenticate']).toMatch(/scope="a b"$/);
  });

  it('requireAudience, requireClient', () => {
    expect(requireAudience('payments', 'ledger')(base)).toBeUndefined();
    expect(requireAudience('ledger')(base)?.reason).toMatch(/not meant/);
    expect(requireClient('orders')(base)).toBeUndefined();
    expect(requireClient('web')(base)).toBeDefined();
  });

  it('requireDelegation reads the chain from the current actor, optionally exactly', () => {
    expect(requireDelegation({ via: ['orders'] })(base)).toBeUndefined();
    expect(requireDelegation({ via: ['orders', 'gateway'], exact: true })(base)).toBeUndefined();
    expect(requireDelegation({ via: ['orders'], exact: true })(base)).toBeDefined();
    expect(requireDelegation({ via: ['gateway'] })(base)).toBeDefined();
    expect(requireDelegation({ via: ['orders'] })({ ...base, actors: [] })).toBeDefined();
  });

  it('anyOf, predicate', () => {
    expect(anyOf(requireClient('web'), requireScope('payments:charge'))(base)).toBeUndefined();
    expect(anyOf(requireClient('web'), requireScope('x'))(base)).toBeDefined();
    expect(predicate((p) => p.subject === 'alice')(base)).toBeUndefined();
    expect(predicate(() => false, 'nope')(base)?.reason).toBe('nope');
  });

  it('refuses misuse at construction', () => {
    const misuse = expect.objectContaining({ name: 'TesseraTypeError', code: 'ERR_INVALID_POLICY' });
    expect(() => requireScope()).toThrow(misuse);
    expect(() => requireScope('has space')).toThrow(misuse);
    expect(() => requireAudience()).toThrow(misuse);
    expect(() => requireClient()).toThrow(misuse);
    expect(() => requireDelegation({ via: [] })).toThrow(misuse);
    expect(() => requireScope()).toThrow(TypeError);
  });

  it('tells a client token from a user token (C 71)', () => {
    const clientToken = {
      ...base,
      subject: 'orders',
      actors: [],
      authTime: undefined,
    } as unknown as Principal;
    expect(isClientPrincipal(clientToken)).toBe(true);
    expect(isUserPrincipal(base)).toBe(true);
    expect(isUserPrincipal({ ...base, subject: 'orders', clientId: 'orders', actors: [] })).toBe(true);
  });

  it('answers an unknown error with a bare 500', () => {
    const answer = answerFor(new Error('secret detail'), bearerProtocol);
    expect(answer.status).toBe(500);
    expect(answer.headers).toEqual({
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
    });
    expect(answer.body).toEqual({ error: { code: 'ERR_INTERNAL', message: 'internal error' } });
  });
});

function captured(run: () => void): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}
