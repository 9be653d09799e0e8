import { isLoopbackHost } from '@tessera/core';
import * as oidc from 'openid-client';

/** Seconds one request to the token service may take (discovery, the token request, each poll). */
const REQUEST_TIMEOUT_S = 10;

/**
 * The token service's metadata by discovery, for a public client (`none`: it holds no secret).
 * Plain http only for a loopback issuer (`npm start`, tests): anywhere else openid-client's
 * https-only rule stands.
 */
export async function discoverIssuer(issuer: string, clientId: string): Promise<oidc.Configuration> {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new Error(`--issuer ${JSON.stringify(issuer.slice(0, 200))} is not a URL`);
  }
  const insecureLoopback = url.protocol === 'http:' && isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !insecureLoopback) {
    throw new Error('--issuer must be an https:// URL (or http:// on 127.0.0.1, [::1] or localhost)');
  }
  try {
    return await oidc.discovery(url, clientId, undefined, oidc.None(), {
      timeout: REQUEST_TIMEOUT_S,
      ...(insecureLoopback ? { execute: [oidc.allowInsecureRequests] } : {}),
    });
  } catch (error) {
    throw new Error(`discovery at ${url.href} failed: ${describeOAuthFailure(error)}`);
  }
}

/** One line for what openid-client threw: the OAuth error and its description, or the cause. */
export function describeOAuthFailure(error: unknown): string {
  if (error instanceof oidc.ResponseBodyError) {
    return error.error_description === undefined
      ? error.error
      : `${error.error} (${error.error_description})`;
  }
  if (error instanceof oidc.AuthorizationResponseError) {
    return error.error_description === undefined
      ? error.error
      : `${error.error} (${error.error_description})`;
  }
  if (error instanceof oidc.WWWAuthenticateChallengeError)
    return `the token service refused the client (${error.status})`;
  if (error instanceof Error) {
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    const detail =
      typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : '';
    return detail === '' ? error.message : `${error.message} (${detail})`;
  }
  return String(error);
}
