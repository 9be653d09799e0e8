import { DpopProofSigner } from '@tessera/core';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, signIn } from '../../../test/support/browser.js';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { shopWeb } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';

// The authorization code bound to a DPoP key (RFC 9449 10): /authorize takes `dpop_jkt`, the
// code remembers it (migration 010), and /token redeems the code only with a proof of that key.
// oauth4webapi (a client we did not write) runs the whole flow; the refusals go over raw HTTP.
// The service has no pushed authorization requests (request_uri is refused), so /authorize is
// the one place dpop_jkt is read.

const REDIRECT = 'http://127.0.0.1:8080/auth/callback';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

describe.each(databases)('dpop_jkt at /authorize on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  let as: oauth.AuthorizationServer;

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, { clients: [shopWeb] });
    await addAlice(harness.service);
    const issuer = new URL(harness.url);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  function authorizeUrl(extra: Record<string, string>, challenge: string, state: string): URL {
    const url = new URL(as.authorization_endpoint as string);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'shop-web',
      redirect_uri: REDIRECT,
      scope: 'openid orders:read',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      ...extra,
    }).toString();
    return url;
  }

  /** A code for alice whose request named `jkt` in dpop_jkt, with its PKCE verifier. */
  async function boundCode(jkt: string): Promise<{ callback: URLSearchParams; verifier: string }> {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = authorizeUrl({ dpop_jkt: jkt }, await oauth.calculatePKCECodeChallenge(verifier), state);
    const { location } = await signIn(new Browser(), url, 'alice', ALICE_PASSWORD);
    return { callback: oauth.validateAuthResponse(as, { client_id: 'shop-web' }, location, state), verifier };
  }

  async function redeem(
    callback: URLSearchParams,
    verifier: string,
    proof: string | undefined,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${harness.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(proof === undefined ? {} : { dpop: proof }),
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.get('code') as string,
        code_verifier: verifier,
        redirect_uri: REDIRECT,
        client_id: 'shop-web',
      }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('oauth4webapi: a code bound to the key of its DPoP handle, redeemed with it, yields bound tokens', async () => {
    const client: oauth.Client = { client_id: 'shop-web' };
    const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    const jkt = await DPoP.calculateThumbprint();
    const { callback, verifier } = await boundCode(jkt);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), callback, REDIRECT, verifier, {
        DPoP,
        ...insecure,
      }),
    );
    expect(tokens.token_type).toBe('dpop');
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt });
  });

  it('a bound code redeemed with a proof of another key -> invalid_grant, and the code is used up', async () => {
    const holder = await DpopProofSigner.generate();
    const thief = await DpopProofSigner.generate();
    const { callback, verifier } = await boundCode(holder.jkt);
    const stolen = await redeem(
      callback,
      verifier,
      thief.proof({ method: 'POST', url: `${harness.url}/token` }),
    );
    expect(stolen).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(stolen.body.error_description).toMatch(/another key than dpop_jkt/);
    // A code is redeemed once (RFC 6749 4.1.2): the refused attempt consumed it.
    const late = await redeem(
      callback,
      verifier,
      holder.proof({ method: 'POST', url: `${harness.url}/token` }),
    );
    expect(late).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('a bound code redeemed without a proof -> invalid_grant', async () => {
    const holder = await DpopProofSigner.generate();
    const { callback, verifier } = await boundCode(holder.jkt);
    const answer = await redeem(callback, verifier, undefined);
    expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(answer.body.error_description).toMatch(/bound to a DPoP key/);
  });

  it('an unbound code (an empty dpop_jkt is absent, RFC 6749 3.1) takes any proof', async () => {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = authorizeUrl({ dpop_jkt: '' }, await oauth.calculatePKCECodeChallenge(verifier), state);
    const { location } = await signIn(new Browser(), url, 'alice', ALICE_PASSWORD);
    const callback = oauth.validateAuthResponse(as, { client_id: 'shop-web' }, location, state);
    const anyKey = await DpopProofSigner.generate();
    const answer = await redeem(
      callback,
      verifier,
      anyKey.proof({ method: 'POST', url: `${harness.url}/token` }),
    );
    expect(answer).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
  });

  it.each([
    ['not a thumbprint', { dpop_jkt: 'not-a-thumbprint' }],
    ['a thumbprint with padding', { dpop_jkt: `${'A'.repeat(42)}=` }],
  ])('a dpop_jkt %s -> invalid_request at the redirect URI', async (_name, extra) => {
    const state = oauth.generateRandomState();
    const url = authorizeUrl(extra, 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', state);
    const response = await fetch(url, { redirect: 'manual' });
    expect(response.status).toBeGreaterThanOrEqual(300);
    expect(response.status).toBeLessThan(400);
    const location = new URL(response.headers.get('location') as string);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/dpop_jkt/);
    expect(location.searchParams.get('state')).toBe(state);
  });

  it('dpop_jkt sent twice -> invalid_request', async () => {
    const state = oauth.generateRandomState();
    const url = authorizeUrl({}, 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', state);
    const jkt = (await DpopProofSigner.generate()).jkt;
    url.search += `&dpop_jkt=${jkt}&dpop_jkt=${jkt}`;
    const response = await fetch(url, { redirect: 'manual' });
    const location = new URL(response.headers.get('location') as string);
    expect(location.searchParams.get('error')).toBe('invalid_request');
  });
});
