import { parseOptions } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import { createPasswordHasher, IdentityError, owaspArgon2Parameters } from '../src/index.js';
import { fastHasher, fastParameters, rejectionOf } from './helpers/hasher.js';

describe('createPasswordHasher (docs/security.md H94)', () => {
  it('defaults to argon2id with the OWASP parameters (m=19456 KiB, t=2, p=1)', async () => {
    const hasher = createPasswordHasher();
    expect(hasher.parameters).toEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    expect(owaspArgon2Parameters).toEqual(hasher.parameters);
    const phc = await hasher.hash('correct horse battery staple');
    expect(phc.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')).toBe(true);
    expect(await hasher.verify(phc, 'correct horse battery staple')).toBe(true);
    expect(hasher.needsRehash(phc)).toBe(false);
  });

  it('uses configured parameters and a fresh salt per hash', async () => {
    const hasher = fastHasher();
    const first = await hasher.hash('same password');
    const second = await hasher.hash('same password');
    expect(first).not.toBe(second);
    const used = parseOptions(first);
    expect(used).toMatchObject({ ...fastParameters, outputLen: 32, saltLen: 16 });
    expect(first.startsWith('$argon2id$')).toBe(true);
  });

  it('accepts 64+ character and unicode passwords without truncation', async () => {
    const hasher = fastHasher();
    const long = `${'a'.repeat(99)}`;
    const phc = await hasher.hash(long);
    expect(await hasher.verify(phc, long)).toBe(true);
    // One more character at position 100 makes another password: nothing is cut at 72 or 64.
    expect(await hasher.verify(phc, `${long}b`)).toBe(false);
    const phcLonger = await hasher.hash(`${long}b`);
    expect(await hasher.verify(phcLonger, long)).toBe(false);
    expect(await hasher.verify(phcLonger, `${long}b`)).toBe(true);

    const unicode = 'пароль-密码-🔐-contraseña-κωδικός';
    const phcUnicode = await hasher.hash(unicode);
    expect(await hasher.verify(phcUnicode, unicode)).toBe(true);
    expect(await hasher.verify(phcUnicode, unicode.slice(0, -1))).toBe(false);
  });

  it('does not fold case or trim', async () => {
    const hasher = fastHasher();
    const phc = await hasher.hash('Tr0ub4dor&3 Sphinx');
    expect(await hasher.verify(phc, 'tr0ub4dor&3 sphinx')).toBe(false);
    expect(await hasher.verify(phc, 'TR0UB4DOR&3 SPHINX')).toBe(false);
    expect(await hasher.verify(phc, ' Tr0ub4dor&3 Sphinx')).toBe(false);
    expect(await hasher.verify(phc, 'Tr0ub4dor&3 Sphinx ')).toBe(false);
    expect(await hasher.verify(phc, 'Tr0ub4dor&3 Sphinx')).toBe(true);
  });

  it('matches composed and decomposed forms of the same text (NFKC)', async () => {
    const hasher = fastHasher();
    const composed = 'caf\u00e9-au-lait';
    const decomposed = 'cafe\u0301-au-lait';
    expect(composed).not.toBe(decomposed);
    const phc = await hasher.hash(composed);
    expect(await hasher.verify(phc, decomposed)).toBe(true);
  });

  it('refuses a password over the maximum size with a clear error, and never verifies one', async () => {
    const hasher = fastHasher({ maxBytes: 1024 });
    expect(await hasher.hash('x'.repeat(1024))).toMatch(/^\$argon2id\$/);
    const tooLong = await rejectionOf(hasher.hash('x'.repeat(1025)));
    expect(tooLong).toMatchObject({ code: 'ERR_PASSWORD_POLICY', status: 400 });
    expect(tooLong.message).toBe('password must be at most 1024 bytes (UTF-8)');
    // Bytes, not characters: 342 three-byte characters are 1026 bytes.
    await expect(hasher.hash('€'.repeat(342))).rejects.toMatchObject({ code: 'ERR_PASSWORD_POLICY' });
    const phc = await hasher.hash('short password');
    expect(await hasher.verify(phc, 'y'.repeat(1_000_000))).toBe(false);
  });

  it('refuses a password shorter than the minimum and a non-string', async () => {
    const hasher = fastHasher();
    const short = await rejectionOf(hasher.hash('1234567'));
    expect(short).toMatchObject({ code: 'ERR_PASSWORD_POLICY', status: 400 });
    expect(short.message).toBe('password must have at least 8 characters');
    await expect(hasher.hash(12345678 as unknown as string)).rejects.toBeInstanceOf(IdentityError);
    expect(await fastHasher({ minLength: 1 }).hash('x')).toMatch(/^\$argon2id\$/);
    // Characters, not UTF-16 units: four emoji are four characters.
    await expect(fastHasher({ minLength: 5 }).hash('🔐🔐🔐🔐')).rejects.toMatchObject({
      code: 'ERR_PASSWORD_POLICY',
    });
  });

  it('answers false, not an error, for a stored value that is not an argon2 hash', async () => {
    const hasher = fastHasher();
    expect(await hasher.verify('not a hash', 'password')).toBe(false);
    expect(await hasher.verify('', 'password')).toBe(false);
    expect(hasher.needsRehash('not a hash')).toBe(true);
  });

  it('says a hash needs rehashing when any parameter differs', async () => {
    const current = fastHasher();
    const phc = await current.hash('a good password');
    expect(current.needsRehash(phc)).toBe(false);
    expect(fastHasher({ memoryCost: 512 }).needsRehash(phc)).toBe(true);
    expect(fastHasher({ timeCost: 2 }).needsRehash(phc)).toBe(true);
    expect(fastHasher({ parallelism: 2 }).needsRehash(phc)).toBe(true);
    // An old hash still verifies under new parameters: they come from the PHC string.
    expect(await fastHasher({ memoryCost: 512 }).verify(phc, 'a good password')).toBe(true);
  });

  it('rejects wrong options as a TypeError at construction', () => {
    for (const options of [
      { memoryCost: 0 },
      { timeCost: 1.5 },
      { parallelism: 256 },
      { memoryCost: 8, parallelism: 2 },
      { maxBytes: -1 },
      { minLength: Number.NaN },
    ]) {
      expect(() => createPasswordHasher(options)).toThrow(TypeError);
      expect(() => createPasswordHasher(options)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_PASSWORD_OPTIONS' }),
      );
    }
  });
});
