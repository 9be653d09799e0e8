import { inspect } from 'node:util';
import type { ForwardableCredential } from '../client/service-client.js';
import type { SessionReferences } from './reference.js';

/** The header that carries a session reference (the gateway strips client-sent X-Tessera-* headers). */
export const SESSION_REFERENCE_HEADER = 'x-tessera-session';

/**
 * The session behind a request in session mode. Passing it on mints a new reference for the next
 * service and route with this service's key for that service, the chain it came through extended
 * with this service: a reference is never forwarded as is, since it names only the service it was
 * made for. The session's hash stays in a private field, out of JSON and inspect.
 */
export class SessionCredential implements ForwardableCredential {
  readonly kind = 'session' as const;
  readonly #sessionHash: string;
  readonly #chain: readonly string[];
  readonly #references: SessionReferences;

  constructor(sessionHash: string, chain: readonly string[], references: SessionReferences) {
    this.#sessionHash = sessionHash;
    this.#chain = chain;
    this.#references = references;
  }

  headersFor(audience: string, route: string): Record<string, string> {
    return {
      [SESSION_REFERENCE_HEADER]: this.#references.mint(this.#sessionHash, this.#chain, audience, route),
    };
  }

  toJSON(): { kind: 'session' } {
    return { kind: 'session' };
  }

  [inspect.custom](): string {
    return 'SessionCredential { [redacted] }';
  }
}
