import { createHash, type KeyObject } from 'node:crypto';
import {
  basicAuthorization,
  discoverIssuer,
  type IssuerMetadata,
  isOAuthErrorCode,
  type KeySource,
  metadataUrl,
  OutboundError,
  outboundRequest,
  RemoteJwksKeySource,
} from '@tessera/core';
import { decodeProtectedHeader, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { GatewayConfig } from '../../config.js';
import { GatewayError } from '../../errors.js';
import { onceUntilSuccess } from '../../lib/once-until-success.js';

export type HybridConfig = NonNullable<GatewayConfig['hybrid']>;

/** What a token endpoint answer gives the gateway (RFC 6749 5.1, OpenID Connect Core 3.1.3.3). */
export interface TokenSet {
  readonly accessToken: string;
  /** Epoch ms, measured from when the request was sent. */
  readonly accessExpiresAt: number;
  readonly refreshToken: string | undefined;
  readonly idToken: string | undefined;
  /** The granted scope (the requested one when the answer leaves it out, RFC 6749 5.1). */
  readonly scope: readonly string[];
}

/** Why the token service refused a grant: `invalid_grant` ends the session, anything else is an outage. */
export class GrantRefused extends Error {
  readonly oauthError: string;
  constructor(oauthError: string) {
    super(`the token service refused the grant: ${oauthError}`);
    this.name = 'GrantRefused';
    this.oauthError = oauthError;
  }
}

/** The token service's endpoints, from its metadata. */
interface Endpoints {
  readonly authorization: string;
  readonly token: string;
  readonly revocation: string | undefined;
  readonly endSession: string | undefined;
  readonly jwks: string;
  /** RFC 9207: the issuer promises `iss` on every authorization response. */
  readonly issInResponse: boolean;
}

export interface ProviderOptions {
  readonly clientSecret: string;
  /** Keys in-process instead of the issuer's JWKS (a co-located token service, tests). */
  readonly keys?: KeySource;
  readonly now: () => number;
}

// OpenID Connect Back-Channel Logout 1.0, 2.4.
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const JWT_ALGORITHMS = ['RS256', 'EdDSA', 'ES256'];
const CLOCK_TOLERANCE_SECONDS = 30;
const MAX_ANSWER_BYTES = 256 * 1024;
/** The `state` of a logout at the token service; the page at the return address reads it. */
export const SIGNED_OUT_STATE = 'signed-out';

function unavailable(cause: unknown): GatewayError {
  return new GatewayError('token_service_unavailable', undefined, { cause });
}

/**
 * The token service as this gateway's OpenID Connect client sees it: discovery (lazily, once it
 * answers), the token and revocation endpoints with client_secret_basic, and the checks of the
 * two JWTs it sends us, ID tokens and logout tokens, against its JWKS.
 */
export class OidcProvider {
  readonly #config: HybridConfig;
  readonly #secret: string;
  readonly #now: () => number;
  readonly #givenKeys: KeySource | undefined;
  /** The endpoints, discovered once; a failed discovery is retried by the next caller. */
  readonly endpoints: () => Promise<Endpoints> = onceUntilSuccess(() => this.#discover());
  #keys: KeySource | undefined;

  constructor(config: HybridConfig, options: ProviderOptions) {
    this.#config = config;
    this.#secret = options.clientSecret;
    this.#now = options.now;
    this.#givenKeys = options.keys;
  }

  get issuer(): string {
    return this.#config.issuer;
  }

  get clientId(): string {
    return this.#config.clientId;
  }

  async #discover(): Promise<Endpoints> {
    const limits = { timeout: this.#config.timeoutMs, maxBodyBytes: 64 * 1024 };
    let metadata: IssuerMetadata;
    try {
      metadata = await discoverIssuer(this.#config.issuer, limits);
    } catch (error) {
      throw unavailable(error);
    }
    // An https issuer's endpoints are https too: the client secret and the tokens go there.
    const secure = this.#config.issuer.startsWith('https:');
    const endpoint = (member: string) => {
      const url = metadataUrl(metadata, member);
      if (secure && !url.startsWith('https:')) throw unavailable(new Error(`${member} is not https`));
      return url;
    };
    const optional = (member: string) => (metadata[member] === undefined ? undefined : endpoint(member));
    const endpoints: Endpoints = {
      authorization: endpoint('authorization_endpoint'),
      token: endpoint('token_endpoint'),
      revocation: optional('revocation_endpoint'),
      endSession: optional('end_session_endpoint'),
      jwks: endpoint('jwks_uri'),
      issInResponse: metadata.authorization_response_iss_parameter_supported === true,
    };
    if (this.#givenKeys === undefined) {
      const jwks = new RemoteJwksKeySource({
        url: endpoints.jwks,
        timeout: this.#config.timeoutMs,
        maxAge: 300_000,
        maxStale: 86_400_000,
        now: this.#now,
      });
      await jwks.load().catch(() => {
        // The key is looked up again (with a refetch) when a token arrives.
      });
      this.#keys = jwks;
    }
    return endpoints;
  }

  /** The authorization request URL (code flow, PKCE S256, state and nonce). */
  async authorizationUrl(params: {
    readonly state: string;
    readonly nonce: string;
    readonly codeChallenge: string;
  }): Promise<string> {
    const { authorization } = await this.endpoints();
    const url = new URL(authorization);
    const query = url.searchParams;
    query.set('response_type', 'code');
    query.set('client_id', this.#config.clientId);
    query.set('redirect_uri', this.#config.redirectUri);
    query.set('scope', this.#config.scopes.join(' '));
    query.set('state', params.state);
    query.set('nonce', params.nonce);
    query.set('code_challenge', params.codeChallenge);
    query.set('code_challenge_method', 'S256');
    return url.href;
  }

  /** Whether the authorization response must carry `iss` (RFC 9207). */
  async expectsIssInResponse(): Promise<boolean> {
    return (await this.endpoints()).issInResponse;
  }

  /** The authorization code for tokens (RFC 6749 4.1.3, RFC 7636 4.5). */
  exchangeCode(code: string, codeVerifier: string): Promise<TokenSet> {
    return this.#grant({
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.#config.redirectUri,
      code_verifier: codeVerifier,
    });
  }

  /** A rotated refresh: the answer carries the next refresh token (or keeps the old one). */
  refresh(refreshToken: string): Promise<TokenSet> {
    return this.#grant({ grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  async #grant(form: Record<string, string>): Promise<TokenSet> {
    const { token } = await this.endpoints();
    const startedAt = this.#now();
    const { status, body } = await this.#post(token, form);
    if (status !== 200) {
      const error = isOAuthErrorCode(body.error) ? body.error : '';
      // 400/401 with an OAuth error code is the token service saying no; anything else is an outage.
      if ((status === 400 || status === 401) && error !== '') throw new GrantRefused(error);
      throw unavailable(new Error(`the token endpoint answered ${status}`));
    }
    const { access_token, expires_in, refresh_token, id_token, scope, token_type } = body;
    if (
      typeof access_token !== 'string' ||
      access_token.length === 0 ||
      typeof token_type !== 'string' ||
      token_type.toLowerCase() !== 'bearer' ||
      typeof expires_in !== 'number' ||
      !(expires_in > 0)
    ) {
      throw unavailable(new Error('the token endpoint answered without a usable bearer token'));
    }
    return {
      accessToken: access_token,
      accessExpiresAt: startedAt + expires_in * 1000,
      refreshToken: typeof refresh_token === 'string' && refresh_token.length > 0 ? refresh_token : undefined,
      idToken: typeof id_token === 'string' && id_token.length > 0 ? id_token : undefined,
      scope: typeof scope === 'string' ? scope.split(' ').filter((s) => s !== '') : [...this.#config.scopes],
    };
  }

  /**
   * Revokes a token (RFC 7009): a refresh token ends its whole grant, an access token is announced
   * to every service as revoked. Best effort: false when the token service could not be told.
   */
  async revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean> {
    const { revocation } = await this.endpoints();
    if (revocation === undefined) return false;
    const { status } = await this.#post(revocation, { token, token_type_hint: hint });
    return status === 200;
  }

  /**
   * RP-initiated logout at the token service, when it offers it and a return address is
   * configured. No `id_token_hint`: the URL goes through the browser (history, the token service's
   * access log), and the ID token stays in the gateway; the token service asks the user to confirm.
   */
  async endSessionUrl(): Promise<string | undefined> {
    const { endSession } = await this.endpoints();
    const target = this.#config.postLogoutRedirectUri;
    if (endSession === undefined || target === undefined) return undefined;
    const url = new URL(endSession);
    url.searchParams.set('client_id', this.#config.clientId);
    url.searchParams.set('post_logout_redirect_uri', target);
    // Passed back by the token service (RP-Initiated Logout 1.0, 3): the page says "Signed out".
    url.searchParams.set('state', SIGNED_OUT_STATE);
    return url.href;
  }

  async #post(
    url: string,
    form: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    let status: number;
    let text: string;
    try {
      const answer = await outboundRequest(url, {
        method: 'POST',
        headers: {
          authorization: basicAuthorization(this.#config.clientId, this.#secret),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams(form).toString(),
        timeout: this.#config.timeoutMs,
        maxBodyBytes: MAX_ANSWER_BYTES,
        // A token or revocation endpoint answering a redirect is judged by its status (an outage).
        redirect: 'return',
      });
      status = answer.status;
      text = answer.text();
    } catch (error) {
      throw error instanceof OutboundError ? unavailable(error) : error;
    }
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = text === '' ? {} : JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        body = parsed as Record<string, unknown>;
      }
    } catch {
      // Not JSON: judged by its status.
    }
    return { status, body };
  }

  /**
   * The ID token of a code exchange (OpenID Connect Core 3.1.3.7): our issuer, our client in
   * `aud` (and `azp` when there are several), the nonce we sent, in date, signed with a key of the
   * token service. Returns its claims; a token that fails any check is `sign_in_failed`.
   */
  async verifyIdToken(idToken: string, nonce: string | undefined, accessToken: string): Promise<JWTPayload> {
    const payload = await this.#verifyJwt(idToken, 'id');
    // A nonce is sent at sign-in and must come back; a refresh's ID token need not carry one (OIDC Core 12.2).
    if (nonce !== undefined && payload.nonce !== nonce)
      throw signInFailed('the ID token does not carry our nonce');
    if (typeof payload.sub !== 'string' || payload.sub.length === 0)
      throw signInFailed('the ID token has no subject');
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if ((aud.length > 1 || payload.azp !== undefined) && payload.azp !== this.#config.clientId) {
      throw signInFailed('the ID token was issued to another party (azp)');
    }
    if (payload.at_hash !== undefined && payload.at_hash !== atHash(accessToken, idToken)) {
      throw signInFailed('the ID token does not match the access token (at_hash)');
    }
    return payload;
  }

  /**
   * A logout token (Back-Channel Logout 1.0, 2.6): typ logout+jwt, our issuer and client, in date,
   * the back-channel logout event, a `sub` or a `sid`, a `jti`, and never a nonce.
   */
  async verifyLogoutToken(token: string): Promise<LogoutClaims> {
    const payload = await this.#verifyJwt(token, 'logout');
    const events = payload.events;
    const event = isObject(events) ? events[BACKCHANNEL_EVENT] : undefined;
    if (!isObject(event)) throw signInFailed('the logout token has no back-channel logout event');
    if (payload.nonce !== undefined) throw signInFailed('a logout token never carries a nonce');
    const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
    const sid = typeof payload.sid === 'string' && payload.sid !== '' ? payload.sid : undefined;
    if (sub === undefined && sid === undefined)
      throw signInFailed('the logout token names no subject or session');
    if (typeof payload.jti !== 'string' || payload.jti === '')
      throw signInFailed('the logout token has no jti');
    if (typeof payload.iat !== 'number') throw signInFailed('the logout token has no iat');
    const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : payload.iat * 1000 + 120_000;
    return { sub, sid, jti: payload.jti, expiresAt: exp };
  }

  /** Signature, issuer, audience and dates; `kind` decides the `typ` it must (or must not) have. */
  async #verifyJwt(token: string, kind: 'id' | 'logout'): Promise<JWTPayload> {
    await this.endpoints();
    const keys = this.#givenKeys ?? this.#keys;
    if (keys === undefined) throw unavailable(new Error('no keys'));
    const resolve = async (header: { kid?: string | undefined }): Promise<KeyObject> => {
      const kid = header.kid;
      if (typeof kid !== 'string') throw signInFailed('the token names no key');
      let key = keys.get(kid);
      if (key === undefined && keys.refresh !== undefined) {
        await keys.refresh(kid).catch(() => undefined);
        key = keys.get(kid);
      }
      if (key === undefined) throw signInFailed('the token is signed with an unknown key');
      return key.key;
    };
    try {
      const { payload } = await jwtVerify(token, resolve, {
        issuer: this.#config.issuer,
        audience: this.#config.clientId,
        algorithms: JWT_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(this.#now()),
        // Back-Channel Logout 1.0 2.4 requires exp and jti; OIDC Core 2 requires exp and iat.
        requiredClaims: kind === 'logout' ? ['iat', 'exp', 'jti'] : ['iat', 'exp'],
        ...(kind === 'logout' ? { typ: 'logout+jwt' } : {}),
      });
      // An access token (at+jwt) or a logout token of the same issuer is never an ID token.
      if (kind === 'id') {
        const typ = decodeProtectedHeader(token).typ;
        if (typ !== undefined && typ.toLowerCase() !== 'jwt')
          throw signInFailed('the token is not an ID token');
      }
      return payload;
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      const reason = error instanceof joseErrors.JOSEError ? error.code : 'ERR_JWT_INVALID';
      throw signInFailed(`the token failed verification (${reason})`);
    }
  }
}

/** What a verified logout token asks to end. */
export interface LogoutClaims {
  readonly sub: string | undefined;
  readonly sid: string | undefined;
  readonly jti: string;
  /** Epoch ms after which the jti need not be remembered. */
  readonly expiresAt: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function signInFailed(message: string): GatewayError {
  return new GatewayError('sign_in_failed', message, { expose: true });
}

// OpenID Connect Core 3.1.3.6: the left half of the hash of the access token, with the hash of the ID token's alg.
function atHash(accessToken: string, idToken: string): string {
  // Only RS256, ES256 (SHA-256) and EdDSA (SHA-512 for Ed25519) get this far: JWT_ALGORITHMS.
  const hash = decodeProtectedHeader(idToken).alg === 'EdDSA' ? 'sha512' : 'sha256';
  const digest = createHash(hash).update(accessToken).digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}
