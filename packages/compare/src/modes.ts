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
  /** What the caller holds. */
  readonly credential: 'session-cookie' | 'bearer' | 'hybrid-cookie';
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
    faults: ['gateway_killed', 'store_down', 'token_service_down', 'key_rotated'],
  },
});
