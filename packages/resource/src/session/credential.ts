import { inspect } from 'node:util';
import type { ForwardableCredential } from '../client/service-client.js';
import type { SessionReferences } from './reference.js';

/** The header that carries a session reference (the gateway strips client-sent X-Tessera-* headers). */
export const SESSION_REFERENCE_HEADER = 'x-tessera-session';

/**
 * The session behind a request in session mode. Passing it on signs a new reference for the next
 * service and route: a reference is never forwarded as is, since it names only the service it was
 * made for. The session id stays in a private field, out of JSON and inspect.
 */
export class SessionCredential implements ForwardableCredential {
  readonly kind = 'session' as const;
  readonly #sessionId: string;
  readonly #references: SessionReferences;

  constructor(sessionId: string, references: SessionReferences) {
    this.#sessionId = sessionId;
    this.#references = references;
  }

  headersFor(audience: string, route: string): Record<string, string> {
    return { [SESSION_REFERENCE_HEADER]: this.#references.sign(this.#sessionId, audience, route) };
  }

  toJSON(): { kind: 'session' } {
    return { kind: 'session' };
  }

  [inspect.custom](): string {
    return 'SessionCredential { [redacted] }';
  }
}
