// oidc-provider ships no types and @types/oidc-provider is not installed: the little the
// benchmark uses, typed loosely on purpose (its configuration is checked by the provider at start).
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): (request: IncomingMessage, response: ServerResponse) => void;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }
}
