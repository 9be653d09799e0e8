import type { Principal } from '@tessera/core';

/**
 * True for a token a client got for itself (client_credentials: sub = client_id), or one exchanged
 * from such a token: no sign-in behind it (no `auth_time`, no `sid`). A user token, even of a user
 * whose sub equals some client's id, carries the sign-in (docs/security.md C71).
 */
export function isClientPrincipal(principal: Principal): boolean {
  return (
    principal.authTime === undefined &&
    principal.sessionId === undefined &&
    (principal.subject === principal.clientId || principal.actors.length > 0)
  );
}

/** True when a user is behind the request (directly or through delegation). */
export function isUserPrincipal(principal: Principal): boolean {
  return !isClientPrincipal(principal);
}
