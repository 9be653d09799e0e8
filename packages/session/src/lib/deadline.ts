import { isTesseraError, withDeadline } from '@tessera/core';
import { SessionError } from '../errors.js';

/**
 * Runs one store call and bounds it by `timeoutMs`, whatever the store's own settings are, so a
 * hung store can never hold a request longer than the manager's timeout. An unreachable or slow
 * store becomes `ERR_SESSION_STORE_UNAVAILABLE`; the store's error stays as `cause`.
 *
 * No timer at all when the store promises to settle every call within the time left
 * (`settlesWithinMs`).
 */
export function withinDeadline<T>(
  operation: string,
  timeoutMs: number,
  run: () => Promise<T>,
  storeSettlesWithinMs?: number,
): Promise<T> {
  if (timeoutMs <= 0) return Promise.reject(unavailable(operation, new Error('no time left')));
  let pending: Promise<T>;
  try {
    pending = run();
  } catch (error) {
    return Promise.reject(translate(operation, error));
  }
  if (storeSettlesWithinMs !== undefined && storeSettlesWithinMs <= timeoutMs) {
    return pending.catch((error: unknown) => {
      throw translate(operation, error);
    });
  }
  return withDeadline(
    pending,
    timeoutMs,
    () => unavailable(operation, new Error(`no answer within ${timeoutMs} ms`)),
    (error) => translate(operation, error),
  );
}

function translate(operation: string, error: unknown): unknown {
  if (error instanceof SessionError) return error;
  if (isTesseraError(error) && error.code === 'ERR_STORAGE_UNAVAILABLE') return unavailable(operation, error);
  return error;
}

function unavailable(operation: string, cause: unknown): SessionError {
  return new SessionError('ERR_SESSION_STORE_UNAVAILABLE', undefined, {
    cause: Object.assign(new Error(`session store: ${operation} failed`), { cause }),
  });
}
