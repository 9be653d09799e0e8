import type { FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../context.js';
import { resolveAudience } from '../../lib/audience.js';
import { FormBody } from '../../lib/form-body.js';
import type { AuthorizationRequest } from '../../lib/interaction.js';
import { OAuthError } from '../../lib/oauth-error.js';
import { isValidS256Challenge } from '../../lib/pkce.js';
import { matchRedirectUri } from '../../lib/redirect-uri.js';
import { resolveScopes } from '../../lib/scope.js';
import type { Client } from '../../store/client.js';
import { RedirectableError, type RedirectTarget } from './redirect.js';

// The /authorize request checks, one named step per rule, in the order they apply: first what
// decides whether an answer may be redirected at all (client, redirect_uri: an error page
// otherwise), then everything that is answered at the redirect URI with `state` and `iss`.

/** Longest `state` and `nonce` accepted; longer ones are refused, never truncated. */
export const MAX_STATE_LENGTH = 4096;

/** The parameters of a GET (query) or POST (form body), remembering repeated ones. */
export function authorizationParameters(request: FastifyRequest): FormBody {
  if (request.method === 'POST') {
    if (request.body instanceof FormBody) return request.body;
    throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded');
  }
  const url = request.raw.url ?? '';
  const query = url.indexOf('?');
  return new FormBody(query === -1 ? '' : url.slice(query + 1));
}

/** RFC 6749 4.1.2.1: an unknown or missing client gets an error page, never a redirect. */
async function knownClient(ctx: ServiceContext, params: FormBody): Promise<Client> {
  if (params.repeated.includes('client_id')) throw new OAuthError('invalid_request', 'client_id is repeated');
  const clientId = params.get('client_id');
  if (clientId === undefined) throw new OAuthError('invalid_request', 'client_id is required');
  const client = clientId.length > 255 ? undefined : await ctx.clients.find(clientId);
  if (client === undefined) throw new OAuthError('invalid_request', 'unknown client');
  if (!client.grant_types.includes('authorization_code')) {
    throw new OAuthError(
      'unauthorized_client',
      'the client is not registered for the authorization code flow',
    );
  }
  return client;
}

/** Exact match (loopback may vary the port); omitted only when exactly one is registered. */
function verifiedRedirectUri(client: Client, params: FormBody): string {
  if (params.repeated.includes('redirect_uri'))
    throw new OAuthError('invalid_request', 'redirect_uri is repeated');
  const requested = params.get('redirect_uri');
  if (requested === undefined) {
    const [only, ...others] = client.redirect_uris;
    if (only !== undefined && others.length === 0) return only;
    throw new OAuthError('invalid_request', 'redirect_uri is required');
  }
  if (!matchRedirectUri(client.redirect_uris, requested)) {
    throw new OAuthError('invalid_request', 'redirect_uri is not registered for this client');
  }
  return requested;
}

function noRepeatedParameters(params: FormBody): void {
  const first = params.repeated[0];
  if (first !== undefined) throw new OAuthError('invalid_request', `parameter ${first} must not be repeated`);
}

function noRequestObjects(params: FormBody): void {
  if (params.has('request'))
    throw new OAuthError('request_not_supported', 'request objects are not supported');
  if (params.has('request_uri'))
    throw new OAuthError('request_uri_not_supported', 'request_uri is not supported');
}

function codeResponseType(params: FormBody): void {
  const responseType = params.get('response_type');
  if (responseType === undefined) throw new OAuthError('invalid_request', 'response_type is required');
  if (responseType !== 'code')
    throw new OAuthError('unsupported_response_type', 'only response_type=code is supported');
  const mode = params.get('response_mode');
  if (mode !== undefined && mode !== 'query')
    throw new OAuthError('invalid_request', 'only response_mode=query is supported');
}

/** PKCE S256 for every client (RFC 9700 2.1.1); `plain` and unknown methods refused. */
function s256Challenge(params: FormBody): string {
  const challenge = params.get('code_challenge');
  const method = params.get('code_challenge_method');
  if (challenge === undefined) throw new OAuthError('invalid_request', 'code_challenge is required');
  if (method !== 'S256') throw new OAuthError('invalid_request', 'code_challenge_method must be S256');
  if (!isValidS256Challenge(challenge)) {
    throw new OAuthError('invalid_request', 'code_challenge must be 43 base64url characters');
  }
  return challenge;
}

function boundedText(params: FormBody, name: string): string | undefined {
  const value = params.get(name);
  if (value !== undefined && value.length > MAX_STATE_LENGTH) {
    throw new OAuthError('invalid_request', `${name} is longer than ${MAX_STATE_LENGTH} characters`);
  }
  return value;
}

/**
 * RFC 9449 10: the thumbprint of the key the client will prove at /token, a SHA-256 JWK
 * thumbprint (RFC 7638), 43 base64url characters; anything else is refused, never ignored.
 */
function dpopJkt(params: FormBody): string | undefined {
  const value = params.get('dpop_jkt');
  if (value !== undefined && !/^[A-Za-z0-9_-]{43}$/.test(value)) {
    throw new OAuthError(
      'invalid_request',
      'dpop_jkt must be a SHA-256 JWK thumbprint (43 base64url characters)',
    );
  }
  return value;
}

function promptValues(params: FormBody): string[] {
  const prompt = params.get('prompt');
  if (prompt === undefined) return [];
  const values = prompt.split(' ').filter((value) => value.length > 0);
  if (values.includes('none') && values.length > 1) {
    throw new OAuthError('invalid_request', 'prompt=none cannot be combined with other values');
  }
  return values;
}

function maxAge(params: FormBody): number | undefined {
  const value = params.get('max_age');
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value))
    throw new OAuthError('invalid_request', 'max_age must be a whole number of seconds');
  return Number(value);
}

/** A validated /authorize request and the client it is for, read once for the whole request. */
export interface ValidatedAuthorization {
  readonly request: AuthorizationRequest;
  readonly client: Client;
}

/** The validated request, or an OAuthError (error page) / RedirectableError (answered at the client). */
export async function validateAuthorizationRequest(
  ctx: ServiceContext,
  params: FormBody,
): Promise<ValidatedAuthorization> {
  const client = await knownClient(ctx, params);
  const redirectUri = verifiedRedirectUri(client, params);
  const rawState = params.get('state');
  // A state too long to echo is refused without echoing it.
  const target: RedirectTarget = {
    redirectUri,
    state: rawState !== undefined && rawState.length > MAX_STATE_LENGTH ? undefined : rawState,
  };
  try {
    noRepeatedParameters(params);
    const state = boundedText(params, 'state');
    noRequestObjects(params);
    codeResponseType(params);
    const codeChallenge = s256Challenge(params);
    const nonce = boundedText(params, 'nonce');
    const scopes = resolveScopes(params.get('scope'), client.scopes);
    const audiences = resolveAudience(params, client.audiences);
    const request: AuthorizationRequest = {
      clientId: client.client_id,
      redirectUri,
      state,
      nonce,
      scopes,
      audiences,
      codeChallenge,
      prompt: promptValues(params),
      maxAge: maxAge(params),
      dpopJkt: dpopJkt(params),
    };
    return { request, client };
  } catch (error) {
    if (error instanceof OAuthError) throw new RedirectableError(error, target);
    throw error;
  }
}
