import { describe, expect, it } from 'vitest';
import { RandomPool } from '../src/index.js';

describe('RandomPool', () => {
  it('hands out every byte once, across refills: no two draws repeat', () => {
    const pool = new RandomPool(64);
    const seen = new Set<string>();
    // 64-byte pool, 12 bytes a draw: a refill every 5 draws, 200 draws.
    for (let i = 0; i < 200; i++) seen.add(pool.bytes(12).toString('hex'));
    expect(seen.size).toBe(200);
    const texts = new Set(Array.from({ length: 200 }, () => pool.base64url(16)));
    expect(texts.size).toBe(200);
    for (const text of texts) expect(text).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('returns a copy: a later refill does not change bytes already handed out', () => {
    const pool = new RandomPool(64);
    const first = pool.bytes(60);
    const snapshot = Buffer.from(first);
    pool.bytes(60);
    expect(first.equals(snapshot)).toBe(true);
  });

  it('refuses sizes and lengths out of bounds with a stable code', () => {
    expect(() => new RandomPool(8)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    const pool = new RandomPool(64);
    for (const length of [0, -1, 65, 1.5, Number.NaN]) {
      expect(() => pool.bytes(length)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    }
  });
});
