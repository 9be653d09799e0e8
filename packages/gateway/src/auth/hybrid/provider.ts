import { type KeySource, type OutboundRequest, RemoteJwksKeySource, type SigningKey } from '@tessera/core';
import { importJWK, type JWTPayload } from 'jose';
import * as oidc from 'openid-client';
import type { GatewayConfig } from '../../config.js';
import { onceUntilSuccess } from '../../lib/once-until-success.js';
import { mtlsTokenEndpoint } from '../mtls.js';
import { boundedFetch } from './bounded-fetch.js';
import {
  discoveryFailure,
  gatewayFailure,
  signInFailed,
  unavailable,
  usableTokenAnswer,
} from './failures.js';
import { CLOCK_TOLERANCE_SECONDS, JwtChecks, type LogoutClaims } from './jwt-checks.js';

export type HybridConfig = NonNullable<GatewayConfig['hybrid']>;

/** What a token endpoint answer gives the gateway (RFC 6749 5.1). */
export interface TokenSet {
  readonly accessToken: string;
  /** Epoch ms, measured from when the request was sent. */
  readonly accessExpiresAt: number;
  readonly refreshToken: string | undefined;
  /** The granted scope (the requested one when the answer leaves it out, RFC 6749 5.1). */
  readonly scope: readonly string[];
  /** The DPoP key the access token is bound to (its thumbprint), when the grant carried a proof. */
  readonly jkt?: string;
}

/** A grant's tokens and the claims of the ID token that came with them, checked. */
export interface Granted {
  readonly tokens: TokenSet;
  /** Always there after sign-in; after a refresh only when the token service sent a new ID token. */
  readonly claims: JWTPayload | undefined;
}

/** What the browser brought back to the callback, and what the sign-in had sent. */
export interface AuthorizationAnswer {
  /** The callback's query, as the token service sent it. */
  readonly query: URLSearchParams;
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
}

export interface ProviderOptions {
  readonly clientSecret: string;
  /** Keys in-process instead of the issuer's JWKS (a co-located token service, tests). */
  readonly keys?: KeySource;
  readonly now: () => number;
  /** The gateway's DPoP key: the code and refresh grants carry its proof, so the tokens are bound to it. */
  readonly dpop?: SigningKey;
  /**
   * `hybrid.mtls`: connections presenting the gateway's certificate. The grants, revocation and
   * exchanges then go to the issuer's `mtls_endpoint_aliases` (RFC 8705 5) over them, so the
   * session's tokens are bound to the certificate (RFC 8705 3).
   */
  readonly mtls?: OutboundRequest['dispatcher'];
}

/** The `state` of a logout at the token service; the page at the return address reads it. */
export const SIGNED_OUT_STATE = 'signed-out';
const MAX_METADATA_BYTES = 64 * 1024;
const MAX_ANSWER_BYTES = 256 * 1024;

interface Discovered {
  readonly client: oidc.Configuration;
  readonly jwts: JwtChecks;
  /** openid-client's DPoP handle over the gateway's key (its proofs and the token service's nonces). */
  readonly dpop: { readonly DPoP: oidc.DPoPHandle } | Record<string, never>;
}

/**
 * The token service as this gateway's OpenID Connect client sees it, on openid-client: discovery
 * (lazily, once it answers), the authorization request, the code and refresh grants with
 * client_secret_basic, revocation and the logout URL; every request on the bounded fetch. The
 * JWTs' signatures and logout tokens are checked by `JwtChecks`, against the same keys.
 */
export class OidcProvider {
  readonly #config: HybridConfig;
  readonly #secret: string;
  readonly #now: () => number;
  readonly #givenKeys: KeySource | undefined;
  readonly #dpopKey: SigningKey | undefined;
  readonly #mtls: OutboundRequest['dispatcher'] | undefined;
  /** The token endpoint, once discovered: its 200 answers are looked at on arrival. */
  #tokenEndpoint: string | undefined;
  /** The client and the checks, discovered once; a failed discovery is retried by the next caller. */
  readonly discover: () => Promise<Discovered> = onceUntilSuccess(() => this.#discover());

  constructor(config: HybridConfig, options: ProviderOptions) {
    this.#config = config;
    this.#secret = options.clientSecret;
    this.#now = options.now;
    this.#givenKeys = options.keys;
    this.#dpopKey = options.dpop;
    this.#mtls = options.mtls;
  }

  get issuer(): string {
    return this.#config.issuer;
  }

  get clientId(): string {
    return this.#config.clientId;
  }

  /** A token answer without a usable bearer token is an outage, not a failed check of the user's sign-in. */
  readonly #inspect = (url: string, status: number, text: string): void => {
    const expected = this.#dpopKey === undefined ? 'bearer' : 'dpop';
    if (url === this.#tokenEndpoint && status === 200 && !usableTokenAnswer(text, expected)) {
      throw unavailable(`the token endpoint answered without a usable ${expected} token`);
    }
  };

  async #discover(): Promise<Discovered> {
    const issuer = this.#config.issuer;
    const plainHttp = issuer.startsWith('http:');
    let client: oidc.Configuration;
    try {
      client = await oidc.discovery(
        new URL(issuer),
        this.#config.clientId,
        {
          client_secret: this.#secret,
          [oidc.clockTolerance]: CLOCK_TOLERANCE_SECONDS,
          ...(this.#mtls === undefined ? {} : { use_mtls_endpoint_aliases: true }),
        },
        oidc.ClientSecretBasic(this.#secret),
        {
          [oidc.customFetch]: boundedFetch({
            timeoutMs: this.#config.timeoutMs,
            maxBytes: { get: MAX_METADATA_BYTES, post: MAX_ANSWER_BYTES },
            inspect: this.#inspect,
            ...(this.#mtls === undefined ? {} : { dispatcher: this.#mtls }),
          }),
          timeout: Math.ceil(this.#config.timeoutMs / 1000),
          // Plain http only for an issuer the config allowed so (loopback, or allowInsecureIssuer).
          execute: plainHttp ? [oidc.allowInsecureRequests] : [],
        },
      );
    } catch (error) {
      throw discoveryFailure(error);
    }
    const metadata = client.serverMetadata();
    // Exactly the configured issuer, not one openid-client deems equivalent (docs/security.md D76).
    if (metadata.issuer !== issuer) throw unavailable('the metadata names another issuer');
    // An https issuer's endpoints are https too: the client secret and the tokens go there.
    for (const [member, value] of Object.entries(metadata)) {
      const url = member.endsWith('_endpoint') || member === 'jwks_uri';
      if (url && !plainHttp && typeof value === 'string' && !value.startsWith('https:'))
        throw unavailable(`${member} is not https`);
    }
    if (typeof metadata.jwks_uri !== 'string') throw unavailable('the metadata has no jwks_uri');
    if (typeof metadata.token_endpoint !== 'string') throw unavailable('the metadata has no token_endpoint');
    const tokenEndpoint = this.#mtls === undefined ? metadata.token_endpoint : mtlsTokenEndpoint(metadata);
    // As openid-client will request it (a URL's href), for `#inspect` to recognise.
    this.#tokenEndpoint = new URL(tokenEndpoint).href;
    let keys = this.#givenKeys;
    if (keys === undefined) {
      const jwks = new RemoteJwksKeySource({
        url: metadata.jwks_uri,
        timeout: this.#config.timeoutMs,
        maxAge: 300_000,
        maxStale: 86_400_000,
        now: this.#now,
      });
      await jwks.load().catch(() => {
        // The key is looked up again (with a refetch) when a token arrives.
      });
      keys = jwks;
    }
    const jwts = new JwtChecks({ keys, issuer, clientId: this.#config.clientId, now: this.#now });
    return { client, jwts, dpop: await this.#dpopHandle(client) };
  }

  /** The DPoP handle of the grants (RFC 9449 5), over the same key pair the upstream proofs use. */
  async #dpopHandle(client: oidc.Configuration): Promise<Discovered['dpop']> {
    const key = this.#dpopKey;
    if (key === undefined) return {};
    const publicKey = await importJWK(key.publicJwk, key.alg, { extractable: true });
    if (publicKey instanceof Uint8Array) throw unavailable('the DPoP key is not an asymmetric key');
    return { DPoP: oidc.getDPoPHandle(client, { privateKey: key.privateKey, publicKey }) };
  }

  /** The token endpoint, for the exchanges at the edge: the same discovery, not a second one. */
  async tokenEndpoint(): Promise<string> {
    await this.discover();
    return this.#tokenEndpoint as string;
  }

  /** The authorization request URL (code flow, PKCE S256, state and nonce). */
  async authorizationUrl(params: {
    readonly state: string;
    readonly nonce: string;
    readonly codeChallenge: string;
  }): Promise<string> {
    const { client } = await this.discover();
    return oidc.buildAuthorizationUrl(client, {
      redirect_uri: this.#config.redirectUri,
      scope: this.#config.scopes.join(' '),
      state: params.state,
      nonce: params.nonce,
      code_challenge: params.codeChallenge,
      code_challenge_method: 'S256',
    }).href;
  }

  /**
   * The callback's answer for tokens (RFC 6749 4.1.2, 4.1.3, RFC 7636 4.5, RFC 9207): openid-client
   * checks `iss`, `state` and an error answer, redeems the code at the registered redirect URI with
   * the verifier, and checks the ID token's claims and our nonce; then the signature and the rest.
   */
  async exchangeCode(answer: AuthorizationAnswer): Promise<Granted & { readonly claims: JWTPayload }> {
    const { client, jwts, dpop } = await this.discover();
    const callback = new URL(this.#config.redirectUri);
    callback.search = answer.query.toString();
    const startedAt = this.#now();
    let response: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      response = await oidc.authorizationCodeGrant(
        client,
        callback,
        { expectedState: answer.state, expectedNonce: answer.nonce, pkceCodeVerifier: answer.verifier },
        undefined,
        dpop,
      );
    } catch (error) {
      throw gatewayFailure(error);
    }
    const granted = await this.#granted(response, startedAt, jwts);
    if (granted.claims === undefined) throw signInFailed('the token service sent no ID token');
    return { tokens: granted.tokens, claims: granted.claims };
  }

  /** A rotated refresh: the answer carries the next refresh token (or keeps the old one). */
  async refresh(refreshToken: string): Promise<Granted> {
    const { client, jwts, dpop } = await this.discover();
    const startedAt = this.#now();
    let response: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;
    try {
      response = await oidc.refreshTokenGrant(client, refreshToken, undefined, dpop);
    } catch (error) {
      throw gatewayFailure(error);
    }
    return this.#granted(response, startedAt, jwts);
  }

  async #granted(
    response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
    startedAt: number,
    jwts: JwtChecks,
  ): Promise<Granted> {
    const claims = response.claims();
    if (response.id_token !== undefined && claims !== undefined) {
      await jwts.idToken(response.id_token, claims, response.access_token);
    }
    const tokens: TokenSet = {
      accessToken: response.access_token,
      // A number by the check on arrival (`usableTokenAnswer`).
      accessExpiresAt: startedAt + (response.expires_in as number) * 1000,
      refreshToken:
        response.refresh_token !== undefined && response.refresh_token.length > 0
          ? response.refresh_token
          : undefined,
      scope:
        response.scope === undefined
          ? [...this.#config.scopes]
          : response.scope.split(' ').filter((scope) => scope !== ''),
      ...(this.#dpopKey === undefined ? {} : { jkt: this.#dpopKey.kid }),
    };
    return { tokens, claims };
  }

  /**
   * Revokes a token (RFC 7009): a refresh token ends its whole grant, an access token is announced
   * to every service as revoked. Best effort: false when the token service could not be told.
   */
  async revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean> {
    const { client } = await this.discover();
    if (client.serverMetadata().revocation_endpoint === undefined) return false;
    try {
      await oidc.tokenRevocation(client, token, { token_type_hint: hint });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * RP-initiated logout at the token service, when it offers it and a return address is
   * configured. No `id_token_hint`: the URL goes through the browser (history, the token service's
   * access log), and the ID token stays in the gateway; the token service asks the user to confirm.
   */
  async endSessionUrl(): Promise<string | undefined> {
    const { client } = await this.discover();
    const target = this.#config.postLogoutRedirectUri;
    if (client.serverMetadata().end_session_endpoint === undefined || target === undefined) return undefined;
    // client_id is added by openid-client; the state comes back (RP-Initiated Logout 1.0, 3) for the page.
    return oidc.buildEndSessionUrl(client, { post_logout_redirect_uri: target, state: SIGNED_OUT_STATE })
      .href;
  }

  /** A logout token, checked against the keys and issuer of the ID tokens. */
  async verifyLogoutToken(token: string): Promise<LogoutClaims> {
    const { jwts } = await this.discover();
    return jwts.logoutToken(token);
  }
}
