import { createPasswordHasher, type PasswordHasher, type PasswordHasherOptions } from '../../src/index.js';

/** Low argon2 costs, for tests that are not about the parameters (they only make tests faster). */
export const fastParameters = { memoryCost: 256, timeCost: 1, parallelism: 1 } as const;

export function fastHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  return createPasswordHasher({ ...fastParameters, ...options });
}

/** A hasher that counts the argon2 work done through it. */
export interface CountingHasher extends PasswordHasher {
  readonly calls: { hash: number; verify: number };
}

export function countingHasher(inner: PasswordHasher = fastHasher()): CountingHasher {
  const calls = { hash: 0, verify: 0 };
  return {
    calls,
    parameters: inner.parameters,
    minLength: inner.minLength,
    maxBytes: inner.maxBytes,
    hash: (password) => {
      calls.hash += 1;
      return inner.hash(password);
    },
    verify: (phc, password) => {
      calls.verify += 1;
      return inner.verify(phc, password);
    },
    needsRehash: (phc) => inner.needsRehash(phc),
  };
}

/** What a rejection was, in the fields a client or a log could see. */
export async function rejectionOf(run: Promise<unknown>): Promise<Record<string, unknown>> {
  const error = await run.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof Error)) throw new Error('expected a rejection');
  const fields = error as Error & Record<string, unknown>;
  return {
    name: error.name,
    code: fields.code,
    status: fields.status,
    expose: fields.expose,
    message: error.message,
    retryAfterSeconds: fields.retryAfterSeconds,
    json: JSON.stringify(error),
  };
}
