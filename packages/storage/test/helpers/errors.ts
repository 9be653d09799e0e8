import { StorageError, type StorageErrorCode, TesseraTypeError } from '@tessera/core';
import { expect } from 'vitest';

/** Asserts that `promise` rejects with a StorageError of `code` and returns it. */
export async function expectStorageError(
  promise: Promise<unknown>,
  code: StorageErrorCode,
): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(StorageError);
  expect((error as StorageError).code).toBe(code);
  return error as StorageError;
}

/** Asserts that `promise` rejects with a TesseraTypeError of `code`. */
export async function expectTypeError(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(TesseraTypeError);
  expect((error as TesseraTypeError).code).toBe(code);
}
