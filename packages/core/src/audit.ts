/**
 * The audit trail: one line per security event, at `info`, with a stable shape every part shares
 * (`{ audit, user?, client?, session?, jti?, reason? }`), so an operator can grep for `"audit"`
 * across the token service, the gateway and the services. Fields name things, never hold
 * secrets: a user by id, a client by client_id, a token by its `jti`, a session by a short hash
 * of its store key (`sessionName`), a refusal by its error code.
 */
export type AuditEvent =
  | 'login.succeeded'
  | 'login.failed'
  | 'token.issued'
  | 'token.refused'
  | 'token.revoked'
  | 'session.created'
  | 'session.ended';

export interface AuditFields {
  /** The user's id (`sub`), never a password or what was typed as a username on a failure. */
  readonly user?: string | undefined;
  readonly client?: string | undefined;
  /** `sessionName(idHash)`: enough to follow one session through the log, useless as a cookie. */
  readonly session?: string | undefined;
  /** The token's `jti`. */
  readonly jti?: string | undefined;
  /** The grant type, audience or other non-secret context of the event. */
  readonly grant?: string | undefined;
  readonly audience?: string | undefined;
  /** A stable code: why it was refused or ended. */
  readonly reason?: string | undefined;
}

/** What an audit line is written to: any pino-compatible logger. */
export interface AuditLog {
  info(fields: Record<string, unknown>, message: string): void;
  isLevelEnabled?(level: string): boolean;
}

/** Whether `log` writes audit lines (pino's level check): lets a caller skip gathering fields. */
export function auditing(log: AuditLog): boolean {
  return log.isLevelEnabled === undefined || log.isLevelEnabled('info');
}

/** Writes one audit line (undefined fields are left out). */
export function audit(log: AuditLog, event: AuditEvent, fields: AuditFields = {}): void {
  if (!auditing(log)) return;
  const line: Record<string, unknown> = { audit: event };
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) line[name] = value;
  log.info(line, event);
}

/**
 * A session's name in the log: the first 12 characters of its store key (already a SHA-256 of
 * the id), so it names the session without being one.
 */
export function sessionName(idHash: string): string {
  return idHash.slice(0, 12);
}
