import { isTesseraError } from '@tessera/core';
import { SessionError } from '../errors.js';

const timedOut = Symbol('timed out');

/**
 * Runs one store call and bounds it by `timeoutMs`, whatever the store's own settings are, so a
 * hung store can never hold a request longer than the manager's timeout. An unreachable or slow
 * store becomes `session_store_unavailable`; the store's error stays as `cause`.
 */
export async function withinDeadline<T>(
  operation: string,
  timeoutMs: number,
  run: () => Promise<T>,
): Promise<T> {
  if (timeoutMs <= 0) throw unavailable(operation, new Error('no time left'));
  let timer: NodeJS.Timeout | undefined;
  let promise: Promise<T>;
  try {
    promise = run();
  } catch (error) {
    throw translate(operation, error);
  }
  const timeout = new Promise<typeof timedOut>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, timedOut);
  });
  try {
    const result = await Promise.race([promise, timeout]);
    if (result === timedOut) {
      // The abandoned call may still settle: its rejection must not become unhandled.
      promise.catch(() => {});
      throw unavailable(operation, new Error(`no answer within ${timeoutMs} ms`));
    }
    return result;
  } catch (error) {
    throw translate(operation, error);
  } finally {
    clearTimeout(timer);
  }
}

function translate(operation: string, error: unknown): unknown {
  if (error instanceof SessionError) return error;
  if (isTesseraError(error) && error.code === 'ERR_STORAGE_UNAVAILABLE') return unavailable(operation, error);
  return error;
}

function unavailable(operation: string, cause: unknown): SessionError {
  return new SessionError('session_store_unavailable', undefined, {
    cause: Object.assign(new Error(`session store: ${operation} failed`), { cause }),
  });
}
