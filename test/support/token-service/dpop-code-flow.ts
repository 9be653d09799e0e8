import * as oauth from 'oauth4webapi';
import { Browser, signIn } from '../browser.js';
import { ALICE_PASSWORD } from './users.js';

export interface DpopCodeFlowOptions {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scope: string;
  /** oauth4webapi's DPoP handle: the code is redeemed with its proof, so the tokens are bound to its key. */
  readonly DPoP: oauth.DPoPHandle;
}

/**
 * oauth4webapi (a client we did not write) drives the authorization code flow with PKCE for a
 * public first-party client: alice signs in through the real login form, and the code is redeemed
 * with a DPoP proof. With `openid` in the scope the ID token and its nonce are checked too.
 */
export async function dpopCodeFlow(
  as: oauth.AuthorizationServer,
  options: DpopCodeFlowOptions,
): Promise<oauth.TokenEndpointResponse> {
  const client: oauth.Client = { client_id: options.clientId };
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const openid = options.scope.split(' ').includes('openid');
  const authorize = new URL(as.authorization_endpoint as string);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: options.clientId,
    redirect_uri: options.redirectUri,
    scope: options.scope,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...(openid ? { nonce } : {}),
  }).toString();
  const { location } = await signIn(new Browser(), authorize, 'alice', ALICE_PASSWORD);
  const callback = oauth.validateAuthResponse(as, client, location, state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    oauth.None(),
    callback,
    options.redirectUri,
    verifier,
    { DPoP: options.DPoP, [oauth.allowInsecureRequests]: true },
  );
  return oauth.processAuthorizationCodeResponse(
    as,
    client,
    response,
    openid ? { expectedNonce: nonce, requireIdToken: true } : {},
  );
}
