import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { audit, auditing, sessionName } from '../src/audit.js';

function capture(level: string): { lines: Record<string, unknown>[]; log: pino.Logger } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, log: pino({ level }, stream) };
}

describe('audit', () => {
  it('writes one info line of the stable shape, leaving out what is unknown', () => {
    const { lines, log } = capture('info');
    audit(log, 'login.failed', { client: 'shop-cli', user: undefined, reason: 'ERR_CREDENTIALS_INVALID' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      audit: 'login.failed',
      client: 'shop-cli',
      reason: 'ERR_CREDENTIALS_INVALID',
      msg: 'login.failed',
    });
    expect(lines[0]).not.toHaveProperty('user');
  });

  it('writes nothing, and says so, below info', () => {
    const { lines, log } = capture('warn');
    expect(auditing(log)).toBe(false);
    audit(log, 'token.issued', { jti: 'j-1' });
    expect(lines).toEqual([]);
  });

  it('names a session by 12 characters of its store key', () => {
    expect(sessionName('abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG')).toBe('abcdefghijkl');
  });
});
