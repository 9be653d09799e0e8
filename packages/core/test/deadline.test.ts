import { describe, expect, it } from 'vitest';
import { withDeadline } from '../src/index.js';

const later = <T>(ms: number, settle: () => T): Promise<T> =>
  new Promise((resolve) => setTimeout(() => resolve(settle()), ms));

describe('withDeadline', () => {
  it('passes a value that comes in time', async () => {
    await expect(
      withDeadline(
        later(5, () => 'v'),
        1_000,
        () => new Error('late'),
      ),
    ).resolves.toBe('v');
  });

  it('rejects with timedOut() once the time has passed, and drops the late failure', async () => {
    const failing = new Promise<never>((_resolve, reject) => {
      setTimeout(() => reject(new Error('late failure')), 60);
    });
    await expect(withDeadline(failing, 20, () => new Error('no answer'))).rejects.toThrow('no answer');
    // The abandoned promise rejects after the deadline: no unhandled rejection may follow.
    await later(80, () => undefined);
  });

  it('translates a rejection that comes in time', async () => {
    const failing = Promise.reject(new Error('refused'));
    await expect(
      withDeadline(
        failing,
        1_000,
        () => new Error('late'),
        (error) => new Error(`translated: ${(error as Error).message}`),
      ),
    ).rejects.toThrow('translated: refused');
  });
});
