import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  createAccessTokenVerifier,
  exportSigningKey,
  generateSigningKey,
  importSigningKey,
  KeySet,
  type SigningAlgorithm,
  signAccessToken,
  TesseraTypeError,
} from '../src/index.js';
import { audience, issuer } from './helpers/claims.js';

const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

describe('signing keys', () => {
  it.each([
    ['EdDSA', 'OKP', 'ed25519'],
    ['ES256', 'EC', 'ec'],
    ['RS256', 'RSA', 'rsa'],
  ] as const)('generates %s keys whose kid is the RFC 7638 thumbprint', async (alg, kty, keyType) => {
    const key = await generateSigningKey(alg);
    expect(key.alg).toBe(alg);
    expect(key.publicJwk.kty).toBe(kty);
    expect(key.publicKey.asymmetricKeyType).toBe(keyType);
    expect(key.kid).toBe(await calculateJwkThumbprint(key.publicJwk, 'sha256'));
    expect(key.publicJwk).toMatchObject({ kid: key.kid, alg, use: 'sig' });
  });

  it('uses Ed25519 by default and RSA-2048 for RS256', async () => {
    expect((await generateSigningKey()).publicJwk.crv).toBe('Ed25519');
    const rsa = await generateSigningKey('RS256');
    expect(rsa.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('refuses an algorithm it does not sign with', async () => {
    await expect(generateSigningKey('HS256' as SigningAlgorithm)).rejects.toBeInstanceOf(TesseraTypeError);
  });

  it.each(['EdDSA', 'ES256', 'RS256'] as const)('exports and re-imports a %s private key', async (alg) => {
    const key = await generateSigningKey(alg);
    const jwk = await exportSigningKey(key);
    expect(jwk).toMatchObject({ kid: key.kid, alg });
    expect(typeof jwk.d).toBe('string');
    const again = await importSigningKey(jwk);
    expect(again.kid).toBe(key.kid);
    // The re-imported key signs tokens the original public key verifies.
    const set = new KeySet().add(again, 'active');
    const token = await signAccessToken(set, { subject: 's', clientId: 'c', audience }, { issuer, alg });
    const verifier = createAccessTokenVerifier({
      issuer,
      audience,
      algorithms: [alg],
      keys: new KeySet().add(key, 'active'),
    });
    expect(verifier.verifySync(token).subject).toBe('s');
  });

  it('refuses to import a JWK whose kid is not its thumbprint, or without its private part', async () => {
    const jwk = await exportSigningKey(await generateSigningKey());
    await expect(importSigningKey({ ...jwk, kid: 'chosen' })).rejects.toBeInstanceOf(TesseraTypeError);
    const { d: _d, ...publicOnly } = jwk;
    await expect(importSigningKey(publicOnly as typeof jwk)).rejects.toBeInstanceOf(TesseraTypeError);
  });

  it('refuses to import an RS256 key under 2048 bits', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = privateKey.export({ format: 'jwk' }) as Record<string, string>;
    const kid = await calculateJwkThumbprint(
      { kty: 'RSA', e: jwk.e as string, n: jwk.n as string },
      'sha256',
    );
    await expect(importSigningKey({ ...jwk, kid, alg: 'RS256' })).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY',
    });
  });
});

describe('KeySet', () => {
  it('publishes only public members, with distinct kids, use sig and alg', async () => {
    const set = await KeySet.generate(['EdDSA', 'ES256', 'RS256']);
    set.add(await generateSigningKey('EdDSA'), 'next');
    const { keys } = set.jwks();
    expect(keys).toHaveLength(4);
    expect(new Set(keys.map((k) => k.kid)).size).toBe(4);
    for (const jwk of keys) {
      expect(jwk.use).toBe('sig');
      expect(['EdDSA', 'ES256', 'RS256']).toContain(jwk.alg);
      expect(jwk.kty).not.toBe('oct');
      for (const member of privateMembers) expect(jwk).not.toHaveProperty(member);
    }
    // And the serialised document, which is what leaves the process.
    const text = JSON.stringify(set.jwks());
    for (const member of privateMembers) expect(text).not.toContain(`"${member}"`);
  });

  it('has one active key per algorithm', async () => {
    const set = await KeySet.generate(['EdDSA']);
    expect(() => set.add(set.activeKey('EdDSA'), 'next')).toThrow(TesseraTypeError);
    const other = await generateSigningKey('EdDSA');
    expect(() => set.add(other, 'active')).toThrow(TesseraTypeError);
    expect(() => set.activeKey('ES256')).toThrow(TesseraTypeError);
  });

  it('rotates with no failed verification: both keys verify during the overlap, then the old is dropped', async () => {
    let now = Date.UTC(2030, 0, 1);
    const clock = () => now;
    const set = await KeySet.generate(['EdDSA'], { now: clock });
    const verifier = createAccessTokenVerifier({ issuer, audience, keys: set, now: clock });
    const claims = { subject: 'u', clientId: 'c', audience };

    const old = set.activeKey();
    const oldToken = await signAccessToken(set, claims, { issuer, now: clock });

    // The next key is published before it signs anything.
    const next = await generateSigningKey('EdDSA');
    set.add(next, 'next');
    expect(set.jwks().keys.map((k) => k.kid)).toContain(next.kid);
    expect(set.activeKey().kid).toBe(old.kid);

    now += 60_000;
    set.promote(next.kid, { retireUntil: now + 300_000 });
    expect(set.activeKey().kid).toBe(next.kid);
    expect(set.entries().find((e) => e.key.kid === old.kid)).toMatchObject({
      state: 'retired',
      retireUntil: now + 300_000,
    });
    const newToken = await signAccessToken(set, claims, { issuer, now: clock });
    expect(verifier.verifySync(oldToken).subject).toBe('u');
    expect(verifier.verifySync(newToken).subject).toBe('u');
    expect(
      set
        .jwks()
        .keys.map((k) => k.kid)
        .sort(),
    ).toEqual([old.kid, next.kid].sort());

    // Past retireUntil the retired key is gone from the JWKS and from lookups.
    now += 300_000;
    expect(set.get(old.kid)).toBeUndefined();
    expect(set.jwks().keys.map((k) => k.kid)).toEqual([next.kid]);
    expect(() => verifier.verifySync(oldToken)).toThrow(
      expect.objectContaining({ code: 'ERR_JWKS_NO_MATCHING_KEY' }),
    );
    expect(verifier.verifySync(newToken).subject).toBe('u');
  });

  it('drops a retired key on lookup as soon as its until has passed', async () => {
    let now = 1_000_000;
    const set = new KeySet({ now: () => now });
    const key = await generateSigningKey();
    set.add(key, 'retired', 2_000_000);
    expect(set.get(key.kid)?.kid).toBe(key.kid);
    now = 2_000_000;
    expect(set.get(key.kid)).toBeUndefined();
    expect(set.entries()).toEqual([]);
  });

  it('refuses a retired key without an until, and promotion of a key that is not next', async () => {
    const set = await KeySet.generate();
    expect(() => set.add({ ...set.activeKey(), kid: 'other' }, 'retired')).toThrow(TesseraTypeError);
    expect(() => set.promote(set.activeKey().kid, { retireUntil: Date.now() })).toThrow(TesseraTypeError);
    expect(() => set.promote('missing', { retireUntil: Date.now() })).toThrow(TesseraTypeError);
  });

  it('removes a key at once', async () => {
    const set = await KeySet.generate();
    const { kid } = set.activeKey();
    expect(set.remove(kid)).toBe(true);
    expect(set.get(kid)).toBeUndefined();
    expect(set.jwks().keys).toEqual([]);
  });
});
