import {
  exportSigningKey,
  importSigningKey,
  isTesseraError,
  type KeyState,
  type PrivateJwk,
  type SigningAlgorithm,
  type SigningKey,
} from '@tessera/core';
import type { Kysely } from 'kysely';
import { TokenServiceError } from '../errors.js';
import { decrypt, encrypt } from '../lib/secrets.js';
import type { TokenServiceDatabase } from './schema.js';

/** A stored signing key, decrypted. */
export interface StoredSigningKey {
  readonly key: SigningKey;
  readonly state: KeyState;
  /** Epoch ms of creation. */
  readonly createdAt: number;
  /** Epoch ms until which a retired key stays published. */
  readonly retireUntil: number | undefined;
}

/** Signing keys in SQL, the private JWK sealed with AES-256-GCM (kid as additional data). */
export class SigningKeyRepository {
  readonly #db: Kysely<TokenServiceDatabase>;
  readonly #encryptionKey: Buffer;

  constructor(db: Kysely<TokenServiceDatabase>, encryptionKey: Buffer) {
    this.#db = db;
    this.#encryptionKey = encryptionKey;
  }

  /** Every key still published at `now`; expired retired keys are deleted on the way. */
  async load(now: number): Promise<StoredSigningKey[]> {
    await this.#db
      .deleteFrom('oauth_signing_keys')
      .where('state', '=', 'retired')
      .where('retire_until', '<=', now)
      .execute();
    const rows = await this.#db.selectFrom('oauth_signing_keys').selectAll().orderBy('created_at').execute();
    const out: StoredSigningKey[] = [];
    for (const row of rows) {
      const json = decrypt(this.#encryptionKey, row.encrypted_jwk, row.kid);
      if (json === undefined) {
        throw new TokenServiceError(
          'ERR_SIGNING_KEY_UNREADABLE',
          `signing key ${row.kid} cannot be decrypted: the service secret is not the one the key was stored with`,
        );
      }
      let key: SigningKey;
      try {
        key = await importSigningKey(JSON.parse(json) as PrivateJwk);
      } catch (error) {
        throw new TokenServiceError('ERR_SIGNING_KEY_UNREADABLE', `signing key ${row.kid} is corrupt`, {
          cause: error,
        });
      }
      const retireUntil = row.retire_until === null ? undefined : Number(row.retire_until);
      out.push({ key, state: row.state as KeyState, createdAt: Number(row.created_at), retireUntil });
    }
    return out;
  }

  /**
   * Stores a new key. Returns false when the database refused it because another process stored an
   * active key of the same algorithm first (the unique index on active keys).
   */
  async insert(key: SigningKey, state: 'active' | 'next', now: number): Promise<boolean> {
    const jwk = await exportSigningKey(key);
    const sealed = encrypt(this.#encryptionKey, JSON.stringify(jwk), key.kid);
    try {
      await this.#db
        .insertInto('oauth_signing_keys')
        .values({
          kid: key.kid,
          alg: key.alg,
          state,
          encrypted_jwk: sealed,
          created_at: now,
          retire_until: null,
        })
        .execute();
      return true;
    } catch (error) {
      if (isTesseraError(error)) throw error;
      if (state === 'active' && (await this.#hasActive(key.alg))) return false;
      throw error;
    }
  }

  /**
   * Makes the oldest `next` key of `alg` active and retires the active one until `retireUntil`,
   * in one transaction. Returns the kid promoted, or undefined when there was no next key.
   */
  async promote(alg: SigningAlgorithm, retireUntil: number): Promise<string | undefined> {
    return this.#db.transaction().execute(async (trx) => {
      const next = await trx
        .selectFrom('oauth_signing_keys')
        .select('kid')
        .where('alg', '=', alg)
        .where('state', '=', 'next')
        .orderBy('created_at')
        .executeTakeFirst();
      if (next === undefined) return undefined;
      // Retire first: the unique index allows one active key per algorithm at any moment.
      await trx
        .updateTable('oauth_signing_keys')
        .set({ state: 'retired', retire_until: retireUntil })
        .where('alg', '=', alg)
        .where('state', '=', 'active')
        .execute();
      await trx
        .updateTable('oauth_signing_keys')
        .set({ state: 'active' })
        .where('kid', '=', next.kid)
        .execute();
      return next.kid;
    });
  }

  async #hasActive(alg: SigningAlgorithm): Promise<boolean> {
    const row = await this.#db
      .selectFrom('oauth_signing_keys')
      .select('kid')
      .where('alg', '=', alg)
      .where('state', '=', 'active')
      .executeTakeFirst();
    return row !== undefined;
  }
}
