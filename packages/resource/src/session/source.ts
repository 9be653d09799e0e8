import { AuthError, inSpan, isTesseraError, type Principal, TesseraTypeError } from '@tessera/core';
import { type Session, type SessionData, SessionError, type SessionManager } from '@tessera/session';
import type { Authenticated, IdentitySource, RequestLike } from '../identity/types.js';
import { SESSION_REFERENCE_HEADER, SessionCredential } from './credential.js';
import {
  createSessionReferences,
  type SessionReferenceOptions,
  type SessionReferences,
} from './reference.js';

export interface SessionSourceOptions<Data extends object = SessionData> {
  /** The session manager over the store the gateway writes (RedisStore in production); read by hash only. */
  readonly manager: SessionManager<Data>;
  /**
   * This service's keys (its name is `self`, the audience a reference must name): `accept` for the
   * callers it takes references from, `mint` for the services it calls. Or references made with
   * createSessionReferences.
   */
  readonly references: SessionReferences | SessionReferenceOptions;
  /** Reported as the Principal's `issuer`. Default `urn:tessera:session`. */
  readonly issuer?: string;
  /** The scopes a session grants, from its data. Default none. */
  readonly scopesOf?: (session: Session<Data>) => readonly string[];
}

function routeOf(request: RequestLike): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return `${(request.method ?? 'GET').toUpperCase()} ${query < 0 ? url : url.slice(0, query)}`;
}

function referenceOf(request: RequestLike): string {
  if (request.rawHeaders !== undefined) {
    let count = 0;
    for (let i = 0; i < request.rawHeaders.length; i += 2) {
      if (request.rawHeaders[i]?.toLowerCase() === SESSION_REFERENCE_HEADER) count++;
    }
    if (count > 1) throw new AuthError('ERR_AUTH_INVALID_REQUEST', 'more than one session reference');
  }
  const value = request.headers[SESSION_REFERENCE_HEADER];
  if (value === undefined || value.length === 0) throw new AuthError('ERR_AUTH_REQUIRED', 'no credentials');
  if (typeof value !== 'string')
    throw new AuthError('ERR_AUTH_INVALID_REQUEST', 'more than one session reference');
  return value;
}

/**
 * The `session` identity source: a session reference from the gateway or another service, opened
 * and checked for this service and route with the key of the caller that made it, then the session
 * looked up (read only, by its hash) in the shared store. The Principal has `subject` = the
 * session's user, `sessionId` = the session's id hash, `authTime` = its creation, `audience` = this
 * service, `expiresAt` = the reference's expiry; it has no token, so `tokenId` is the id hash too,
 * `scopes` come from `scopesOf` and `claims` is empty. As a token exchanged along the way would
 * read, `clientId` is the caller that made the reference and `actors` are the services after the
 * edge, the caller first (`[orders]` at inventory for gateway -> orders -> inventory, none at orders).
 */
export function sessionSource<Data extends object = SessionData>(
  options: SessionSourceOptions<Data>,
): IdentitySource {
  const { manager, issuer = 'urn:tessera:session', scopesOf } = options;
  if (typeof manager?.getByHash !== 'function')
    throw new TesseraTypeError('ERR_INVALID_OPTION', 'manager must be a SessionManager');
  const given: unknown = options.references;
  if (typeof given !== 'object' || given === null) {
    throw new TesseraTypeError(
      'ERR_INVALID_OPTION',
      "references must be this service's session reference keys ({ self, accept, mint? }) or createSessionReferences(...)",
    );
  }
  if (
    typeof (given as SessionReferences).open !== 'function' &&
    Object.keys((given as SessionReferenceOptions).accept ?? {}).length === 0
  ) {
    // A source that accepts no caller would refuse every request, as if the keys were wrong.
    throw new TesseraTypeError(
      'ERR_INVALID_OPTION',
      'references.accept must give the keys of at least one caller (such as { gateway: [key] })',
    );
  }
  const references =
    typeof (given as SessionReferences).open === 'function'
      ? (given as SessionReferences)
      : createSessionReferences(given as SessionReferenceOptions);
  const audience = references.self;

  return Object.freeze({
    scheme: 'TesseraSession',
    readiness: Object.freeze({ 'session store': () => manager.checkStore() }),
    async authenticate(request: RequestLike): Promise<Authenticated> {
      const opened = references.open(referenceOf(request), routeOf(request));
      let session: Session<Data> | null;
      try {
        session = await inSpan('tessera.session_lookup', {}, () => manager.getByHash(opened.sessionHash));
      } catch (error) {
        // The manager's own failures are SessionErrors already (a store outage past its deadline).
        throw isTesseraError(error)
          ? error
          : new SessionError('ERR_SESSION_STORE_UNAVAILABLE', undefined, { cause: error });
      }
      if (session === null) {
        throw new SessionError('ERR_SESSION_NOT_FOUND', 'the session the reference names has ended');
      }
      const principal: Principal = Object.freeze({
        subject: session.userId,
        clientId: opened.chain[opened.chain.length - 1] as string,
        scopes: Object.freeze([...(scopesOf?.(session) ?? [])]),
        audience: Object.freeze([audience]),
        issuer,
        tokenId: session.idHash,
        expiresAt: opened.expiresAt,
        issuedAt: opened.expiresAt - references.lifetime,
        sessionId: session.idHash,
        authTime: Math.floor(session.createdAt / 1000),
        actors: Object.freeze(
          opened.chain
            .slice(1)
            .reverse()
            .map((subject) => Object.freeze({ subject })),
        ),
        claims: Object.freeze({}),
      });
      return { principal, credential: new SessionCredential(opened.sessionHash, opened.chain, references) };
    },
  });
}
