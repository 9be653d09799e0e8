import { KeySet } from '@tessera/core';
import { describe, expect, it } from 'vitest';
import { craft, header } from '../../../test/support/craft.js';
import { DenyList } from '../src/revocation/deny-list.js';
import { createVerifier } from '../src/verify/verifier.js';
import { claims } from './support/claims.js';

const ISSUER = 'https://issuer.test';
const T0 = Date.UTC(2030, 0, 1);

async function setup(cache: boolean | { max: number }) {
  let clock = T0;
  const keys = await KeySet.generate(['EdDSA']);
  const key = keys.activeKey('EdDSA');
  const denyList = new DenyList({ issuer: ISSUER, now: () => clock });
  const verifier = await createVerifier({
    issuer: ISSUER,
    audience: 'orders',
    keys,
    cache,
    revocations: denyList,
    now: () => clock,
  });
  const token = (extra: Record<string, unknown> = {}) =>
    craft(key, header(key), claims(ISSUER, Math.floor(clock / 1000), extra));
  return { keys, key, denyList, verifier, token, advance: (ms: number) => (clock += ms) };
}

describe('the verified-token cache', () => {
  it('a token seen again costs no signature check (it verifies after its key is gone)', async () => {
    const { keys, key, verifier, token } = await setup(true);
    const t = token();
    await verifier.verify(t);
    keys.remove(key.kid);
    expect((await verifier.verify(t)).subject).toBe('alice');
    await expect(verifier.verify(token({ jti: 'other' }))).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
  });

  it('is checked against the deny-list on every hit', async () => {
    const { denyList, verifier, token } = await setup(true);
    const t = token({ jti: 'cached' });
    await verifier.verify(t);
    denyList.add({ kind: 'jti', value: 'cached', until: Math.floor(T0 / 1000) + 600 });
    await expect(verifier.verify(t)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED', status: 401 });
  });

  it('never returns a token at or past its exp', async () => {
    const { verifier, token, advance } = await setup(true);
    const t = token({ exp: Math.floor(T0 / 1000) + 10 });
    await verifier.verify(t);
    advance(10_000 + 31_000); // past exp and the clock tolerance
    await expect(verifier.verify(t)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });

  it('is bounded: the least recently used token is dropped first', async () => {
    const { keys, key, verifier, token } = await setup({ max: 2 });
    const [a, b, c] = [token({ jti: 'a' }), token({ jti: 'b' }), token({ jti: 'c' })];
    await verifier.verify(a);
    await verifier.verify(b);
    await verifier.verify(a); // a is now the most recent
    await verifier.verify(c); // drops b
    keys.remove(key.kid);
    expect((await verifier.verify(a)).tokenId).toBe('a');
    expect((await verifier.verify(c)).tokenId).toBe('c');
    await expect(verifier.verify(b)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  it('keeps a token in use while newer ones push the others out', async () => {
    const { keys, key, verifier, token } = await setup({ max: 4 });
    const [a, b, c, d, e, f] = ['a', 'b', 'c', 'd', 'e', 'f'].map((jti) => token({ jti })) as string[];
    for (const t of [a, b, c, d]) await verifier.verify(t as string);
    await verifier.verify(a as string); // used again: moved to the young end
    await verifier.verify(e as string); // drops b
    await verifier.verify(f as string); // drops c
    keys.remove(key.kid);
    for (const [t, jti] of [
      [a, 'a'],
      [d, 'd'],
      [e, 'e'],
      [f, 'f'],
    ] as const) {
      expect((await verifier.verify(t as string)).tokenId).toBe(jti);
    }
    for (const t of [b, c]) {
      await expect(verifier.verify(t as string)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    }
  });

  it('never drops a token used again within every max/2 newer tokens', async () => {
    const { keys, key, verifier, token } = await setup({ max: 4 });
    const hot = token({ jti: 'hot' });
    await verifier.verify(hot);
    const others: string[] = [];
    for (let i = 0; i < 10; i++) {
      const other = token({ jti: `other-${i}` });
      others.push(other);
      await verifier.verify(other);
      await verifier.verify(hot);
    }
    keys.remove(key.kid);
    expect((await verifier.verify(hot)).tokenId).toBe('hot');
    await expect(verifier.verify(others[0] as string)).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
  });

  it('verifyCached answers from the cache only: a hit, a miss, a revoked hit, no cache', async () => {
    const { denyList, verifier, token } = await setup(true);
    const t = token({ jti: 'seen' });
    expect(verifier.verifyCached(t)).toBeUndefined();
    await verifier.verify(t);
    expect(verifier.verifyCached(t)?.tokenId).toBe('seen');
    expect(verifier.verifyCached(`${t}x`)).toBeUndefined();
    expect(verifier.verifyCached('x'.repeat(10_000))).toBeUndefined();
    denyList.add({ kind: 'jti', value: 'seen', until: Math.floor(T0 / 1000) + 600 });
    expect(() => verifier.verifyCached(t)).toThrow(expect.objectContaining({ code: 'ERR_TOKEN_REVOKED' }));
    const { verifier: uncached, token: tokenOf } = await setup(false);
    const u = tokenOf();
    await uncached.verify(u);
    expect(uncached.verifyCached(u)).toBeUndefined();
  });

  it('refuses a wrong option at construction', async () => {
    await expect(
      createVerifier({ issuer: ISSUER, audience: 'orders', keys: new KeySet(), cache: { max: 0 } }),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
    await expect(createVerifier({ issuer: '', audience: 'orders' })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
  });
});
