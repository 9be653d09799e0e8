/** The `users` table as Kysely sees it. */
export interface UsersTable {
  /** Random UUID v4 (122 random bits); the `sub` of tokens. */
  id: string;
  /** Display form (NFKC) as the user chose it. */
  username: string;
  /** NFKC + lower case: unique, and what lookups compare. */
  username_key: string;
  /** argon2id PHC string. */
  password_hash: string;
  /** JSON object of OpenID Connect standard claims. */
  claims: string;
  /** 0 or 1 (an integer on both dialects, so rows read back the same way). */
  disabled: number;
  /** ISO 8601, UTC, millisecond precision: sorts as text on both dialects. */
  created_at: string;
  updated_at: string;
}

/** The `user_deactivations` table: one row per disable or delete, kept for a retention window. */
export interface UserDeactivationsTable {
  /** Random UUID v4. */
  id: string;
  user_id: string;
  /** 'disabled' or 'deleted'. */
  reason: string;
  /** ISO 8601, UTC, millisecond precision, by the writer's clock. */
  created_at: string;
}

export interface IdentitySchema {
  users: UsersTable;
  user_deactivations: UserDeactivationsTable;
}
