import { inspect } from 'node:util';
import type { Credential } from './types.js';

/**
 * An incoming access token. The token sits in a private field, out of JSON, inspect and
 * enumeration, so logging a request object never prints it (docs/security.md G91).
 */
export class BearerCredential implements Credential {
  readonly kind = 'bearer' as const;
  readonly #token: string;

  constructor(token: string) {
    this.#token = token;
  }

  /** The token itself, for the service client's token exchange; never log it. */
  reveal(): string {
    return this.#token;
  }

  toJSON(): { kind: 'bearer' } {
    return { kind: 'bearer' };
  }

  [inspect.custom](): string {
    return 'BearerCredential { [redacted] }';
  }
}
