import { describe, expect, it } from 'vitest';
import { SealedBox } from '../src/index.js';

describe('SealedBox', () => {
  const box = SealedBox.fromSecret('a-secret-of-at-least-some-length-0123', 'tests');

  it('opens what it sealed, with the same additional data; never the same text twice', () => {
    const sealed = box.seal('the session id', 'v2.head');
    expect(sealed).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(Buffer.from('the session id').toString('base64url'));
    expect(box.open(sealed, 'v2.head')?.toString()).toBe('the session id');
    expect(box.seal('the session id', 'v2.head')).not.toBe(sealed);
    expect(box.open(box.seal(new Uint8Array([1, 2, 3])))).toEqual(Buffer.from([1, 2, 3]));
  });

  it('opens to nothing when anything differs: additional data, a bit, the length, the key or the purpose', () => {
    const sealed = box.seal('value', 'alice');
    const flipped = `${sealed.slice(0, 10)}${sealed[10] === 'A' ? 'B' : 'A'}${sealed.slice(11)}`;
    for (const [candidate, data] of [
      [sealed, 'bob'],
      [sealed, undefined],
      [flipped, 'alice'],
      [sealed.slice(0, -4), 'alice'],
      ['', 'alice'],
      ['not base64url!', 'alice'],
    ] as const) {
      expect(box.open(candidate, data)).toBeUndefined();
    }
    expect(
      SealedBox.fromSecret('a-secret-of-at-least-some-length-0123', 'other').open(sealed, 'alice'),
    ).toBeUndefined();
    expect(
      SealedBox.fromSecret('another-secret-0123456789abcdef', 'tests').open(sealed, 'alice'),
    ).toBeUndefined();
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new SealedBox(new Uint8Array(16))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
  });
});
