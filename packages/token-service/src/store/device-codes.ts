import { randomInt } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { hashToken, newOpaqueToken } from './grants.js';
import type { TokenServiceDatabase } from './schema.js';

/** Migration 007. Times are epoch ms (BIGINT: strings on PostgreSQL, read through `Number`). */
export interface DeviceCodesTable {
  /** SHA-256 of the device code, base64url. */
  device_code_hash: string;
  /** SHA-256 of the normalised user code (8 letters, no dash). */
  user_code_hash: string;
  client_id: string;
  scopes: string;
  audiences: string;
  /** Seconds the client must wait between polls; grows by 5 on each slow_down. */
  interval_s: number;
  last_polled_at: number | string | null;
  status: DeviceStatus;
  /** Set with status `approved`: who approved, and their SSO session. */
  user_id: string | null;
  sid: string | null;
  /** Epoch seconds. */
  auth_time: number | string | null;
  /** The grant made at approval: a logout revokes it like any other, a second redemption too. */
  grant_id: string | null;
  created_at: number | string;
  expires_at: number | string;
  consumed_at: number | string | null;
}

export type DeviceStatus = 'pending' | 'approved' | 'denied';

export interface NewDeviceGrant {
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly audiences: readonly string[];
  readonly intervalS: number;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/** A device authorization as stored: what was asked for, and how far it has got. */
export interface DeviceGrantRecord extends NewDeviceGrant {
  readonly deviceCodeHash: string;
  readonly lastPolledAt: number | undefined;
  readonly status: DeviceStatus;
  readonly userId: string | undefined;
  readonly sid: string | undefined;
  readonly authTime: number | undefined;
  readonly grantId: string | undefined;
  readonly consumedAt: number | undefined;
}

/** Who approved a device (the SSO session's user, sid and auth_time) and the grant made for it. */
export interface DeviceApproval {
  readonly userId: string;
  readonly sid: string;
  /** Epoch seconds. */
  readonly authTime: number;
  readonly grantId: string;
}

/** RFC 8628 6.1: consonants only (no vowels, so no words), case-insensitive: 20^8 codes. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const USER_CODE_LENGTH = 8;

/** A user code with a dash in the middle, as it is shown: `WDJB-MJHT`. */
function newUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * What a person typed, as the stored form: case and dashes or spaces ignored (RFC 8628 6.1);
 * undefined when it cannot be a user code at all (so it never reaches the database).
 */
export function normalizeUserCode(input: string): string | undefined {
  if (input.length > 32) return undefined;
  const letters = input.toUpperCase().replace(/[\s-]/g, '');
  if (letters.length !== USER_CODE_LENGTH) return undefined;
  for (const letter of letters) if (!USER_CODE_ALPHABET.includes(letter)) return undefined;
  return letters;
}

const num = (value: number | string): number => Number(value);

function fromRow(row: Selectable<DeviceCodesTable>): DeviceGrantRecord {
  return Object.freeze({
    deviceCodeHash: row.device_code_hash,
    clientId: row.client_id,
    scopes: Object.freeze(JSON.parse(row.scopes) as string[]),
    audiences: Object.freeze(JSON.parse(row.audiences) as string[]),
    intervalS: num(row.interval_s),
    lastPolledAt: row.last_polled_at === null ? undefined : num(row.last_polled_at),
    status: row.status,
    userId: row.user_id ?? undefined,
    sid: row.sid ?? undefined,
    authTime: row.auth_time === null ? undefined : num(row.auth_time),
    grantId: row.grant_id ?? undefined,
    expiresAt: num(row.expires_at),
    consumedAt: row.consumed_at === null ? undefined : num(row.consumed_at),
  });
}

/**
 * Device authorizations in SQL (RFC 8628). The device code is 256-bit random and stored only as
 * its hash; the user code is short (it is typed by a person), stored hashed too, and found only
 * through the rate-limited user-code page. Every change of state is a conditional UPDATE, so of
 * concurrent callers (two approvals, two redemptions) exactly one wins, on any number of instances.
 */
export class DeviceCodeRepository {
  readonly #db: Kysely<TokenServiceDatabase>;
  readonly #now: () => number;

  constructor(db: Kysely<TokenServiceDatabase>, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  /** Stores a new pending authorization; returns the device code and the user code (shown form), never stored. */
  async create(grant: NewDeviceGrant): Promise<{ deviceCode: string; userCode: string }> {
    // A user code colliding with a live one breaks the unique index: draw again (1 in 2.5e10 a row).
    for (let attempt = 1; ; attempt++) {
      const deviceCode = newOpaqueToken();
      const userCode = newUserCode();
      try {
        await this.#db
          .insertInto('oauth_device_codes')
          .values({
            device_code_hash: hashToken(deviceCode),
            user_code_hash: hashToken(normalizeUserCode(userCode) as string),
            client_id: grant.clientId,
            scopes: JSON.stringify(grant.scopes),
            audiences: JSON.stringify(grant.audiences),
            interval_s: grant.intervalS,
            last_polled_at: null,
            status: 'pending',
            user_id: null,
            sid: null,
            auth_time: null,
            grant_id: null,
            created_at: this.#now(),
            expires_at: grant.expiresAt,
            consumed_at: null,
          })
          .execute();
        return { deviceCode, userCode };
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }

  /** The authorization a (normalised) user code names, whatever its state. */
  async findByUserCode(normalized: string): Promise<DeviceGrantRecord | undefined> {
    const row = await this.#db
      .selectFrom('oauth_device_codes')
      .selectAll()
      .where('user_code_hash', '=', hashToken(normalized))
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  }

  async findByHash(deviceCodeHash: string): Promise<DeviceGrantRecord | undefined> {
    const row = await this.#db
      .selectFrom('oauth_device_codes')
      .selectAll()
      .where('device_code_hash', '=', deviceCodeHash)
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  }

  /** Notes a poll; with `slowDown` the interval also grows by 5 seconds (RFC 8628 3.5). */
  async recordPoll(deviceCodeHash: string, slowDown: boolean): Promise<void> {
    await this.#db
      .updateTable('oauth_device_codes')
      .set((eb) => ({
        last_polled_at: this.#now(),
        ...(slowDown ? { interval_s: eb('interval_s', '+', 5) } : {}),
      }))
      .where('device_code_hash', '=', deviceCodeHash)
      .execute();
  }

  /**
   * The user's answer, given once: only a pending, unexpired authorization changes. False when it
   * had already been answered or has expired.
   */
  async decide(deviceCodeHash: string, decision: DeviceApproval | 'denied'): Promise<boolean> {
    const values =
      decision === 'denied'
        ? { status: 'denied' as const }
        : {
            status: 'approved' as const,
            user_id: decision.userId,
            sid: decision.sid,
            auth_time: decision.authTime,
            grant_id: decision.grantId,
          };
    const result = await this.#db
      .updateTable('oauth_device_codes')
      .set(values)
      .where('device_code_hash', '=', deviceCodeHash)
      .where('status', '=', 'pending')
      .where('expires_at', '>', this.#now())
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Redeems an approved authorization: true for exactly one caller, ever. */
  async consume(deviceCodeHash: string): Promise<boolean> {
    const result = await this.#db
      .updateTable('oauth_device_codes')
      .set({ consumed_at: this.#now() })
      .where('device_code_hash', '=', deviceCodeHash)
      .where('status', '=', 'approved')
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Deletes authorizations that expired before `before` (epoch ms); returns how many. */
  async purgeExpired(before: number): Promise<number> {
    const result = await this.#db
      .deleteFrom('oauth_device_codes')
      .where('expires_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
