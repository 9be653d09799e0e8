import { describe, expect, it } from 'vitest';
import { announceThenWaitForSignal } from '../src/lib/signals.js';

// The handlers are the process's own; `process.emit` delivers a signal to them as Node would,
// without sending one to this process.
const handlers = () => process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');

describe('announceThenWaitForSignal', () => {
  it('handles a signal that comes while the process gets ready, and answers it once ready', async () => {
    const before = handlers();
    let readyDone = false;
    const signal = announceThenWaitForSignal(async () => {
      expect(handlers()).toBe(before + 2);
      process.emit('SIGTERM', 'SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 10));
      readyDone = true;
    });
    await expect(signal).resolves.toBe('SIGTERM');
    expect(readyDone).toBe(true);
    expect(handlers()).toBe(before);
  });

  it('resolves with the first signal after the ready line, and stops handling signals then', async () => {
    const before = handlers();
    const lines: string[] = [];
    const signal = announceThenWaitForSignal(() => {
      lines.push('listening');
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual(['listening']);
    expect(handlers()).toBe(before + 2);
    process.emit('SIGINT', 'SIGINT');
    await expect(signal).resolves.toBe('SIGINT');
    expect(handlers()).toBe(before);
  });

  it('takes its handlers away when getting ready fails, and passes the failure on', async () => {
    const before = handlers();
    await expect(
      announceThenWaitForSignal(async () => {
        throw new Error('port taken');
      }),
    ).rejects.toThrow('port taken');
    expect(handlers()).toBe(before);
  });
});
