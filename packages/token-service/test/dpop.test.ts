import { DpopProofSigner, sha256Base64url } from '@tessera/core';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, signIn } from '../../../test/support/browser.js';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { basic, ORDERS_SECRET, orders, shopWeb } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';

// DPoP (RFC 9449) at the token service, driven by oauth4webapi, a client we did not write:
// client credentials, the code flow with PKCE, refresh, token exchange and userinfo, each bound to
// the client's key; and each refusal of docs/security.md A143-A145 over raw HTTP with our signer.

const REDIRECT = 'http://127.0.0.1:8080/auth/callback';
const BOUND_SECRET = 'bound-secret-0123456789abcdef-0123456789';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

const bound = {
  client_id: 'bound',
  client_secret: BOUND_SECRET,
  grant_types: ['client_credentials' as const],
  scopes: ['inventory:reserve'],
  audiences: ['inventory'],
  dpop_bound_access_tokens: true,
};

const CHECKOUT_SECRET = 'checkout-secret-0123456789abcdef-012345678';
const EDGE_SECRET = 'edge-secret-0123456789abcdef-0123456789abc';
const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange' as const;

/** A public client whose users' tokens are meant for orders and for the checkout exchanger. */
const shopApp = {
  client_id: 'shop-app',
  redirect_uris: [REDIRECT],
  grant_types: ['authorization_code' as const],
  scopes: ['openid', 'orders:read'],
  audiences: ['orders', 'checkout'],
  first_party: true,
};

/** An exchanger trusted to have checked its callers' proofs (the gateway's place at the edge). */
const checkout = {
  client_id: 'checkout',
  client_secret: CHECKOUT_SECRET,
  grant_types: [TOKEN_EXCHANGE_GRANT],
  scopes: ['inventory:reserve'],
  audiences: ['inventory'],
  dpop_bound_subject_tokens: true,
};

/** A confidential code client whose own user tokens name it (the hybrid gateway's place), not registered for bound subjects. */
const edge = {
  client_id: 'edge',
  client_secret: EDGE_SECRET,
  redirect_uris: [REDIRECT],
  grant_types: ['authorization_code' as const, TOKEN_EXCHANGE_GRANT],
  scopes: ['openid', 'orders:read', 'inventory:reserve'],
  audiences: ['edge', 'inventory'],
  first_party: true,
};

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
}

describe.each(databases)('DPoP at the token service on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  let as: oauth.AuthorizationServer;

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, { clients: [orders, shopWeb, bound, shopApp, checkout, edge] });
    await addAlice(harness.service);
    const issuer = new URL(harness.url);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  /** A raw POST /token with a form and, when given, a DPoP header. */
  async function token(form: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
    const response = await fetch(`${harness.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form),
    });
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
      headers: response.headers,
    };
  }

  const ordersAuth = { authorization: basic('orders', ORDERS_SECRET) };
  const tokenUrl = () => `${harness.url}/token`;

  async function introspect(accessToken: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${harness.url}/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...ordersAuth },
      body: new URLSearchParams({ token: accessToken }),
    });
    return (await response.json()) as Record<string, unknown>;
  }

  /** The /authorize URL of shop-web for alice, with `extra` parameters (dpop_jkt). */
  function authorizeUrl(
    challenge: string,
    state: string,
    extra: Record<string, string> = {},
    clientId = 'shop-web',
  ): URL {
    const url = new URL(as.authorization_endpoint as string);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      scope: 'openid orders:read',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      ...extra,
    }).toString();
    return url;
  }

  /** The code of a signed-in alice for shop-web, with its PKCE verifier. */
  async function authorizationCode(
    clientId = 'shop-web',
    extra: Record<string, string> = {},
  ): Promise<{
    callback: URLSearchParams;
    verifier: string;
    nonce: string;
  }> {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const url = authorizeUrl(
      await oauth.calculatePKCECodeChallenge(verifier),
      state,
      { nonce, ...extra },
      clientId,
    );
    const { location } = await signIn(new Browser(), url, 'alice', ALICE_PASSWORD);
    const callback = oauth.validateAuthResponse(as, { client_id: clientId }, location, state);
    return { callback, verifier, nonce };
  }

  /** The code flow as oauth4webapi runs it with a DPoP handle, the ID token checked. */
  async function codeFlowWith(
    client: oauth.Client,
    DPoP: oauth.DPoPHandle,
    extra: Record<string, string> = {},
  ): Promise<oauth.TokenEndpointResponse> {
    const { callback, verifier, nonce } = await authorizationCode('shop-web', extra);
    return oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), callback, REDIRECT, verifier, {
        DPoP,
        ...insecure,
      }),
      { expectedNonce: nonce, requireIdToken: true },
    );
  }

  it('advertises the proof algorithms in discovery', () => {
    expect(as.dpop_signing_alg_values_supported).toEqual(['EdDSA', 'Ed25519', 'ES256']);
  });

  it.each(['ES256', 'EdDSA'] as const)(
    'client_credentials with an %s DPoP key: token_type DPoP, cnf.jkt in the token and at introspection',
    async (alg) => {
      const client: oauth.Client = { client_id: 'orders' };
      const DPoP = oauth.DPoP(client, await oauth.generateKeyPair(alg));
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        client,
        oauth.ClientSecretBasic(ORDERS_SECRET),
        { scope: 'inventory:reserve' },
        { DPoP, ...insecure },
      );
      const tokens = await oauth.processClientCredentialsResponse(as, client, response);
      expect(tokens.token_type).toBe('dpop');
      const jkt = await DPoP.calculateThumbprint();
      expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt });
      const info = await introspect(tokens.access_token);
      expect(info).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt } });
    },
  );

  it('without a proof, a client not registered dpop_bound gets a bearer token as before', async () => {
    const answer = await token({ grant_type: 'client_credentials' }, ordersAuth);
    expect(answer.status).toBe(200);
    expect(answer.body.token_type).toBe('Bearer');
    expect(decodeJwt(answer.body.access_token as string).cnf).toBeUndefined();
    expect(await introspect(answer.body.access_token as string)).toMatchObject({ token_type: 'Bearer' });
  });

  it('the code flow with PKCE and DPoP: bound tokens, a bound refresh token, userinfo under DPoP', async () => {
    const client: oauth.Client = { client_id: 'shop-web' };
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(client, keyPair);
    const jkt = await DPoP.calculateThumbprint();
    const tokens = await codeFlowWith(client, DPoP);
    expect(tokens.token_type).toBe('dpop');
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt });
    const refreshToken = tokens.refresh_token as string;

    // userinfo, as the library calls it: Authorization: DPoP and a proof with ath.
    const info = await oauth.processUserInfoResponse(
      as,
      client,
      oauth.skipSubjectCheck,
      await oauth.userInfoRequest(as, client, tokens.access_token, { DPoP, ...insecure }),
    );
    expect(info.sub).toBe(decodeJwt(tokens.access_token).sub);
    // The same token sent as a bearer token: refused (RFC 9449 7.2).
    const asBearer = await fetch(`${harness.url}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(asBearer.status).toBe(401);
    expect(asBearer.headers.get('www-authenticate')).toMatch(
      /^DPoP realm="tessera", algs="EdDSA Ed25519 ES256", error="invalid_token"/,
    );

    // A refresh token of a public client is bound (RFC 9449 5): another key or no proof is
    // refused, and the token stays usable by its holder.
    const otherKey = await DpopProofSigner.generate('ES256');
    const form = { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'shop-web' };
    const withOtherKey = await token(form, { dpop: otherKey.proof({ method: 'POST', url: tokenUrl() }) });
    expect(withOtherKey).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const withoutProof = await token(form);
    expect(withoutProof).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, { DPoP, ...insecure }),
    );
    expect(refreshed.token_type).toBe('dpop');
    expect(decodeJwt(refreshed.access_token).cnf).toEqual({ jkt });
    // The successor is bound to the same key.
    const successor = { ...form, refresh_token: refreshed.refresh_token as string };
    expect(await token(successor)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

  /** A code of `clientId` redeemed with `holder`'s proof: the user's access token, bound to it. */
  async function boundUserToken(
    clientId: string,
    holder: DpopProofSigner,
    auth: Record<string, string> = {},
  ): Promise<string> {
    const { callback, verifier } = await authorizationCode(clientId);
    const code = await token(
      {
        grant_type: 'authorization_code',
        code: callback.get('code') as string,
        code_verifier: verifier,
        redirect_uri: REDIRECT,
        ...(auth.authorization === undefined ? { client_id: clientId } : {}),
      },
      { ...auth, dpop: holder.proof({ method: 'POST', url: tokenUrl() }) },
    );
    expect(code.status).toBe(200);
    return code.body.access_token as string;
  }

  function exchange(subject: string, auth: Record<string, string>, proof?: DpopProofSigner) {
    return token(
      {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: subject,
        subject_token_type: ACCESS_TOKEN,
        audience: 'inventory',
      },
      { ...auth, ...(proof === undefined ? {} : { dpop: proof.proof({ method: 'POST', url: tokenUrl() }) }) },
    );
  }

  describe('token exchange of a DPoP-bound subject token (docs/security.md A160)', () => {
    const checkoutAuth = { authorization: basic('checkout', CHECKOUT_SECRET) };

    it("a registered exchanger (dpop_bound_subject_tokens) gets a token bound to its own key, not its caller's", async () => {
      const caller = await DpopProofSigner.generate();
      const subject = await boundUserToken('shop-app', caller);
      const service = await DpopProofSigner.generate('ES256');
      const exchanged = await exchange(subject, checkoutAuth, service);
      expect(exchanged.status).toBe(200);
      expect(exchanged.body.token_type).toBe('DPoP');
      const claims = decodeJwt(exchanged.body.access_token as string);
      expect(claims.cnf).toEqual({ jkt: service.jkt });
      expect(claims.act).toEqual({ sub: 'checkout' });
    });

    it('a client not registered for bound subjects, with a proof of its own key -> 400 invalid_grant', async () => {
      const caller = await DpopProofSigner.generate();
      const subject = await boundUserToken('shop-app', caller);
      const exchanged = await exchange(subject, ordersAuth, await DpopProofSigner.generate());
      expect(exchanged).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    });

    it('a bound subject without a proof, even from a registered exchanger -> 400 invalid_dpop_proof (never a bearer token)', async () => {
      const subject = await boundUserToken('shop-app', await DpopProofSigner.generate());
      const exchanged = await exchange(subject, checkoutAuth);
      expect(exchanged).toMatchObject({ status: 400, body: { error: 'invalid_dpop_proof' } });
    });

    it('the holder exchanges its own bound token with a proof of that key; another key of its own -> invalid_grant', async () => {
      const holder = await DpopProofSigner.generate();
      const edgeAuth = { authorization: basic('edge', EDGE_SECRET) };
      const subject = await boundUserToken('edge', holder, edgeAuth);
      expect(await exchange(subject, edgeAuth, await DpopProofSigner.generate())).toMatchObject({
        status: 400,
        body: { error: 'invalid_grant' },
      });
      const exchanged = await exchange(subject, edgeAuth, holder);
      expect(exchanged.status).toBe(200);
      expect(decodeJwt(exchanged.body.access_token as string).cnf).toEqual({ jkt: holder.jkt });
    });

    it('an unbound subject token is exchanged as before, bound only when a proof is sent', async () => {
      const { callback, verifier } = await authorizationCode('shop-app');
      const code = await token({
        grant_type: 'authorization_code',
        code: callback.get('code') as string,
        code_verifier: verifier,
        redirect_uri: REDIRECT,
        client_id: 'shop-app',
      });
      const subject = code.body.access_token as string;
      const plain = await exchange(subject, ordersAuth);
      expect(plain).toMatchObject({ status: 200, body: { token_type: 'Bearer' } });
    });
  });

  describe('refusals at /token (docs/security.md A143, A144)', () => {
    let signer: DpopProofSigner;
    beforeAll(async () => {
      signer = await DpopProofSigner.generate();
    });
    const grant = { grant_type: 'client_credentials' };

    it.each([
      ['for another URL', () => signer.proof({ method: 'POST', url: `${harness.url}/introspect` })],
      ['for another method', () => signer.proof({ method: 'GET', url: tokenUrl() })],
      ['that is not a JWS', () => 'not-a-proof'],
      [
        "whose signature is not its key's",
        () => {
          const [header, payload] = signer.proof({ method: 'POST', url: tokenUrl() }).split('.');
          return `${header}.${payload}.${'A'.repeat(86)}`;
        },
      ],
    ])('a proof %s -> 400 invalid_dpop_proof', async (_name, make) => {
      const answer = await token(grant, { ...ordersAuth, dpop: make() });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('invalid_dpop_proof');
      expect(answer.headers.get('cache-control')).toBe('no-store');
    });

    it('a proof replayed -> 400 invalid_dpop_proof, the first use was a 200', async () => {
      const proof = signer.proof({ method: 'POST', url: tokenUrl() });
      expect((await token(grant, { ...ordersAuth, dpop: proof })).status).toBe(200);
      const again = await token(grant, { ...ordersAuth, dpop: proof });
      expect(again).toMatchObject({ status: 400, body: { error: 'invalid_dpop_proof' } });
      expect(again.body.error_description).toMatch(/already used/);
    });

    it('a refused proof leaves the authorization code unused', async () => {
      const { callback, verifier } = await authorizationCode();
      const form = {
        grant_type: 'authorization_code',
        code: callback.get('code') as string,
        code_verifier: verifier,
        redirect_uri: REDIRECT,
        client_id: 'shop-web',
      };
      const refused = await token(form, { dpop: signer.proof({ method: 'PUT', url: tokenUrl() }) });
      expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_dpop_proof' } });
      const redeemed = await token(form, { dpop: signer.proof({ method: 'POST', url: tokenUrl() }) });
      expect(redeemed).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
    });

    it('a client registered dpop_bound_access_tokens without a proof -> 400 invalid_dpop_proof', async () => {
      const auth = { authorization: basic('bound', BOUND_SECRET) };
      const refused = await token(grant, auth);
      expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_dpop_proof' } });
      const withProof = await token(grant, {
        ...auth,
        dpop: signer.proof({ method: 'POST', url: tokenUrl() }),
      });
      expect(withProof).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
      expect(decodeJwt(withProof.body.access_token as string).cnf).toEqual({ jkt: signer.jkt });
    });

    it('an ath claim is not checked at /token, where no access token is sent', async () => {
      const proof = signer.proof({ method: 'POST', url: tokenUrl(), accessToken: 'x' });
      const payload = decodeJwt(proof);
      expect(payload.ath).toBe(sha256Base64url('x'));
      expect((await token(grant, { ...ordersAuth, dpop: proof })).status).toBe(200);
    });
  });

  describe('server nonces (dpopNonce: true, docs/security.md A143)', () => {
    let nonced: Harness;
    let nonceAs: oauth.AuthorizationServer;
    beforeAll(async () => {
      nonced = await startService(database, { clients: [orders], dpopNonce: true });
      const issuer = new URL(nonced.url);
      nonceAs = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
    });
    afterAll(async () => {
      await nonced?.stop();
    });

    it('oauth4webapi is told use_dpop_nonce with a DPoP-Nonce, and its retry with the nonce succeeds', async () => {
      const client: oauth.Client = { client_id: 'orders' };
      const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('EdDSA'));
      const first = await oauth.clientCredentialsGrantRequest(
        nonceAs,
        client,
        oauth.ClientSecretBasic(ORDERS_SECRET),
        {},
        {
          DPoP,
          ...insecure,
        },
      );
      expect(first.status).toBe(400);
      expect(first.headers.get('dpop-nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const error = await oauth
        .processClientCredentialsResponse(nonceAs, client, first)
        .catch((e: unknown) => e);
      expect(oauth.isDPoPNonceError(error)).toBe(true);
      const second = await oauth.clientCredentialsGrantRequest(
        nonceAs,
        client,
        oauth.ClientSecretBasic(ORDERS_SECRET),
        {},
        {
          DPoP,
          ...insecure,
        },
      );
      expect(second.headers.get('dpop-nonce')).toBe(first.headers.get('dpop-nonce'));
      const tokens = await oauth.processClientCredentialsResponse(nonceAs, client, second);
      expect(tokens.token_type).toBe('dpop');
    });

    it('a nonce the service never handed out -> use_dpop_nonce', async () => {
      const signer = await DpopProofSigner.generate();
      const answer = await fetch(`${nonced.url}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...ordersAuth,
          dpop: signer.proof({ method: 'POST', url: `${nonced.url}/token`, nonce: 'made-up' }),
        },
        body: 'grant_type=client_credentials',
      });
      expect(answer.status).toBe(400);
      expect(((await answer.json()) as { error: string }).error).toBe('use_dpop_nonce');
      expect(answer.headers.get('dpop-nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });
  });

  // The authorization code bound to a DPoP key (RFC 9449 10): /authorize takes `dpop_jkt`, the
  // code remembers it (migration 010), and /token redeems it only with a proof of that key. The
  // service has no pushed authorization requests (request_uri is refused), so /authorize is the
  // one place dpop_jkt is read (docs/security.md A147, B148).
  describe('dpop_jkt at /authorize', () => {
    /** A raw code redemption by shop-web, with `proof` when given. */
    async function redeem(
      code: { callback: URLSearchParams; verifier: string },
      proof?: string,
    ): Promise<Answer> {
      return token(
        {
          grant_type: 'authorization_code',
          code: code.callback.get('code') as string,
          code_verifier: code.verifier,
          redirect_uri: REDIRECT,
          client_id: 'shop-web',
        },
        proof === undefined ? {} : { dpop: proof },
      );
    }

    it('oauth4webapi: a code bound to the key of its DPoP handle, redeemed with it, yields bound tokens', async () => {
      const client: oauth.Client = { client_id: 'shop-web' };
      const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
      const jkt = await DPoP.calculateThumbprint();
      const tokens = await codeFlowWith(client, DPoP, { dpop_jkt: jkt });
      expect(tokens.token_type).toBe('dpop');
      expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt });
    });

    it('A147: redeemed with a proof of another key -> invalid_grant, and the code is used up', async () => {
      const holder = await DpopProofSigner.generate();
      const thief = await DpopProofSigner.generate();
      const code = await authorizationCode('shop-web', { dpop_jkt: holder.jkt });
      const stolen = await redeem(code, thief.proof({ method: 'POST', url: tokenUrl() }));
      expect(stolen).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect(stolen.body.error_description).toMatch(/another key than dpop_jkt/);
      // A code is redeemed once (RFC 6749 4.1.2): the refused attempt consumed it.
      const late = await redeem(code, holder.proof({ method: 'POST', url: tokenUrl() }));
      expect(late).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    });

    it('A147: redeemed without a proof -> invalid_grant', async () => {
      const holder = await DpopProofSigner.generate();
      const answer = await redeem(await authorizationCode('shop-web', { dpop_jkt: holder.jkt }));
      expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect(answer.body.error_description).toMatch(/bound to a DPoP key/);
    });

    it('an unbound code (an empty dpop_jkt is absent, RFC 6749 3.1) takes any proof', async () => {
      const anyKey = await DpopProofSigner.generate();
      const answer = await redeem(
        await authorizationCode('shop-web', { dpop_jkt: '' }),
        anyKey.proof({ method: 'POST', url: tokenUrl() }),
      );
      expect(answer).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
    });

    it.each([
      ['not a thumbprint', 'dpop_jkt=not-a-thumbprint'],
      ['a thumbprint with padding', `dpop_jkt=${'A'.repeat(42)}%3D`],
      ['sent twice', `dpop_jkt=${'A'.repeat(43)}&dpop_jkt=${'A'.repeat(43)}`],
    ])('B148: a dpop_jkt %s -> invalid_request at the redirect URI', async (_name, parameter) => {
      const state = oauth.generateRandomState();
      const url = authorizeUrl('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', state);
      url.search += `&${parameter}`;
      const response = await fetch(url, { redirect: 'manual' });
      expect(response.status).toBeGreaterThanOrEqual(300);
      expect(response.status).toBeLessThan(400);
      const location = new URL(response.headers.get('location') as string);
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('error_description')).toMatch(/dpop_jkt/);
      expect(location.searchParams.get('state')).toBe(state);
    });
  });
});
