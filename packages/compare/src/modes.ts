import type { FaultName, ModeName } from './schema.js';

/** How each mode is put together from the same parts. */
export interface ModeDefinition {
  readonly name: ModeName;
  /** The dev system's mode its configuration is written for. */
  readonly devMode: 'token' | 'session' | 'hybrid';
  /** What the shop services verify: a token, or a session reference looked up in the store. */
  readonly services: 'token' | 'session' | 'none';
  /** Sessions in each gateway's memory: no shared store, so nothing behind the edge can look one up. */
  readonly sessionsInMemory: boolean;
  /** Verified-token caches at the gateway and the services. */
  readonly cache: boolean;
  /** Services subscribe to pushed revocation events. */
  readonly revocationEvents: boolean;
  /**
   * What the caller holds: a cookie, a bearer token, or an access token bound to the caller's key
   * (DPoP, RFC 9449), sent with a fresh proof per request.
   */
  readonly credential: 'session-cookie' | 'bearer' | 'hybrid-cookie' | 'dpop-token';
  /**
   * DPoP at every hop (`tessera dev --dpop`): the gateway checks the caller's proof and exchanges
   * the token for one bound to its own key, the services take DPoP only, orders binds what it
   * exchanges to its own key.
   */
  readonly dpop: boolean;
  readonly faults: readonly FaultName[];
}

export const modes: Readonly<Record<ModeName, ModeDefinition>> = Object.freeze({
  'session-memory': {
    name: 'session-memory',
    devMode: 'session',
    services: 'none',
    sessionsInMemory: true,
    cache: true,
    revocationEvents: false,
    credential: 'session-cookie',
    dpop: false,
    faults: ['gateway_killed', 'token_service_down'],
  },
  'session-redis': {
    name: 'session-redis',
    devMode: 'session',
    services: 'session',
    sessionsInMemory: false,
    cache: true,
    revocationEvents: false,
    credential: 'session-cookie',
    dpop: false,
    faults: ['gateway_killed', 'store_down', 'token_service_down'],
  },
  token: {
    name: 'token',
    devMode: 'token',
    services: 'token',
    sessionsInMemory: false,
    cache: true,
    revocationEvents: true,
    credential: 'bearer',
    dpop: false,
    faults: ['gateway_killed', 'store_down', 'token_service_down', 'key_rotated'],
  },
  'token-nocache': {
    name: 'token-nocache',
    devMode: 'token',
    services: 'token',
    sessionsInMemory: false,
    cache: false,
    revocationEvents: false,
    credential: 'bearer',
    dpop: false,
    faults: ['gateway_killed', 'store_down', 'token_service_down', 'key_rotated'],
  },
  hybrid: {
    name: 'hybrid',
    devMode: 'hybrid',
    services: 'token',
    sessionsInMemory: false,
    cache: true,
    revocationEvents: true,
    credential: 'hybrid-cookie',
    dpop: false,
    faults: ['gateway_killed', 'store_down', 'token_service_down', 'key_rotated'],
  },
  'token-dpop': {
    name: 'token-dpop',
    devMode: 'token',
    services: 'token',
    sessionsInMemory: false,
    cache: true,
    revocationEvents: true,
    credential: 'dpop-token',
    dpop: true,
    faults: ['gateway_killed', 'store_down', 'token_service_down', 'key_rotated'],
  },
});

/** Whether the caller holds an access token (bearer or DPoP-bound) rather than a session cookie. */
export function holdsAccessToken(mode: ModeDefinition): boolean {
  return mode.credential === 'bearer' || mode.credential === 'dpop-token';
}
