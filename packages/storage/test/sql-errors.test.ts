import { StorageError } from '@tessera/core';
import { describe, expect, it } from 'vitest';
import { isUnavailableError, unavailable } from '../src/sql/errors.js';
import { describePostgresTarget, secretsOf } from '../src/sql/redact.js';

describe('connection errors (docs/security.md J128)', () => {
  const url = new URL('postgres://app:p%40ss%20word@db.internal:6543/tessera');
  const context = { target: describePostgresTarget(url), secrets: secretsOf(url) };

  it('names the target without user or password', () => {
    expect(context.target).toBe('PostgreSQL at db.internal:6543/tessera');
  });

  it('scrubs the password, raw or decoded, from the message and the cause', () => {
    const driverError = Object.assign(new Error('login as app with p@ss word (p%40ss%20word) failed'), {
      code: 'ECONNREFUSED',
    });
    const error = unavailable(driverError, context);

    expect(error).toBeInstanceOf(StorageError);
    expect(error.code).toBe('ERR_STORAGE_UNAVAILABLE');
    expect(error.expose).toBe(false);
    const cause = error.cause as Error & { code?: string };
    const said = [error.message, error.stack, cause.message, cause.stack].join('\n');
    expect(said).not.toContain('p@ss word');
    expect(said).not.toContain('p%40ss%20word');
    expect(error.message).toContain('***');
    expect(cause.code).toBe('ECONNREFUSED');
  });

  it('keeps a cause that holds no secret as it is', () => {
    const driverError = new Error('connect ECONNREFUSED 10.0.0.1:6543');
    expect(unavailable(driverError, context).cause).toBe(driverError);
  });

  it.each([
    ['ECONNREFUSED', true],
    ['57P01', true],
    ['08006', true],
    ['SQLITE_BUSY', true],
    ['42P01', false],
    ['23505', false],
    ['SQLITE_CONSTRAINT_UNIQUE', false],
  ])('classes code %s as unavailable: %s', (code, expected) => {
    expect(isUnavailableError(Object.assign(new Error('x'), { code }))).toBe(expected);
  });
});
