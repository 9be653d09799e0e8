import type { Kysely } from 'kysely';
import { KeyManager } from './lib/key-manager.js';
import { deriveServiceKeys } from './lib/secrets.js';
import { ClientRepository } from './store/clients.js';
import type { TokenServiceDatabase } from './store/schema.js';

/** What the CLI (`tessera clients ...`, `tessera keys ...`) needs, without building the HTTP app. */
export interface AdminOptions {
  /** An already migrated database (`migrateTokenService`). */
  readonly database: Kysely<unknown>;
  /** The service secret the running service uses. */
  readonly secret: string | Uint8Array;
  /** `tessera dev`: no warning for short client secrets. */
  readonly dev?: boolean;
  /** Receives operator warnings. */
  readonly warn?: (message: string) => void;
  /**
   * How long a retired key stays published, in ms. Default: the default ID token lifetime (3600 s)
   * plus the default key reload interval (30 s); pass more when the service runs with longer lifetimes.
   */
  readonly retireAfterMs?: number;
  /** How long a next key must have been published before `rotate` lets it sign (ms). Default 60 000. */
  readonly publishAheadMs?: number;
  readonly now?: () => number;
}

function secretBytes(secret: string | Uint8Array): Uint8Array {
  return typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
}

/** The client repository on its own, without a cache: every read sees the database. */
export function openClientRepository(options: AdminOptions): ClientRepository {
  return new ClientRepository({
    db: options.database as Kysely<TokenServiceDatabase>,
    secretKey: deriveServiceKeys(secretBytes(options.secret)).clientSecret,
    cacheTtlMs: 0,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.dev === undefined ? {} : { dev: options.dev }),
    ...(options.warn === undefined ? {} : { warn: options.warn }),
  });
}

/** The key manager on its own (`tessera keys list|rotate`); creates the first keys if none exist. */
export function openKeyManager(options: AdminOptions): Promise<KeyManager> {
  return KeyManager.open({
    db: options.database as Kysely<TokenServiceDatabase>,
    encryptionKey: deriveServiceKeys(secretBytes(options.secret)).keyEncryption,
    retireAfterMs: options.retireAfterMs ?? (3600 + 30) * 1000,
    ...(options.publishAheadMs === undefined ? {} : { publishAheadMs: options.publishAheadMs }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}
