import type { FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../context.js';
import { type Client, isPublicClient, type TokenEndpointAuthMethod } from '../../store/client.js';
import type { FormBody } from '../form-body.js';
import { invalidClient, invalidRequest } from '../oauth-error.js';
import { parseBasicCredentials } from './basic.js';
import { checkSelfSignedTlsClientAuth, checkTlsClientAuth } from './mtls.js';
import { assertionSubject, JWT_BEARER_ASSERTION_TYPE, verifyClientAssertion } from './private-key-jwt.js';

/** Who is calling, and how it proved it. */
export interface AuthenticatedClient {
  readonly client: Client;
  readonly method: TokenEndpointAuthMethod;
}

// Credentials must never travel in a URL (they end up in logs and histories): RFC 6749 2.3.1.
const CREDENTIAL_QUERY_PARAMETERS = ['client_secret', 'client_assertion', 'client_assertion_type'];

function queryHasCredentials(query: unknown): boolean {
  if (typeof query !== 'object' || query === null) return false;
  return CREDENTIAL_QUERY_PARAMETERS.some((name) => name in query);
}

async function findClient(ctx: ServiceContext, clientId: string): Promise<Client> {
  if (clientId.length > 255) throw invalidClient();
  const client = await ctx.clients.find(clientId);
  // Unknown client and wrong secret get the same answer: no client enumeration.
  if (client === undefined) throw invalidClient();
  return client;
}

function checkSecret(ctx: ServiceContext, client: Client, secret: string): void {
  if (client.secret_hash === undefined) {
    throw invalidClient('the client does not authenticate with a secret');
  }
  if (!ctx.clients.verifySecret(client, secret)) throw invalidClient();
}

/**
 * Authenticates the client of a token-endpoint-style request (token, introspect, revoke) by
 * exactly one method: `client_secret_basic`, `client_secret_post`, `private_key_jwt`,
 * `tls_client_auth` or `self_signed_tls_client_auth` (RFC 8705 2: `client_id` in the body and
 * the certificate of the TLS connection, for a client registered so), or `none` (a public client
 * naming itself with `client_id`). Any of the two secret methods is accepted for a
 * client registered with a secret. Failures: 401 invalid_client with `WWW-Authenticate: Basic`;
 * two methods at once, a body `client_id` that differs, or credentials in the query: 400 invalid_request.
 */
export async function authenticateClient(
  ctx: ServiceContext,
  request: FastifyRequest,
  form: FormBody,
): Promise<AuthenticatedClient> {
  if (queryHasCredentials(request.query)) {
    throw invalidRequest('client credentials must not be sent in the query string');
  }
  const authorization = request.headers.authorization;
  const basic = authorization !== undefined && /^basic(\s|$)/i.test(authorization);
  if (authorization !== undefined && !basic) {
    throw invalidClient('unsupported authorization scheme');
  }
  const post = form.has('client_secret');
  const jwt = form.has('client_assertion') || form.has('client_assertion_type');
  if (Number(basic) + Number(post) + Number(jwt) > 1) {
    throw invalidRequest('use exactly one client authentication method');
  }
  const bodyClientId = form.get('client_id');

  if (basic) {
    const credentials = parseBasicCredentials((authorization as string).slice(5));
    if (bodyClientId !== undefined && bodyClientId !== credentials.clientId) {
      throw invalidRequest('client_id does not match the authenticated client');
    }
    const client = await findClient(ctx, credentials.clientId);
    checkSecret(ctx, client, credentials.clientSecret);
    return { client, method: 'client_secret_basic' };
  }

  if (post) {
    if (bodyClientId === undefined) throw invalidClient();
    const client = await findClient(ctx, bodyClientId);
    checkSecret(ctx, client, form.get('client_secret') as string);
    return { client, method: 'client_secret_post' };
  }

  if (jwt) {
    if (form.get('client_assertion_type') !== JWT_BEARER_ASSERTION_TYPE) {
      throw invalidClient('unsupported client_assertion_type');
    }
    const assertion = form.get('client_assertion');
    if (assertion === undefined) throw invalidClient('client_assertion missing');
    const subject = assertionSubject(assertion);
    if (bodyClientId !== undefined && bodyClientId !== subject) {
      throw invalidRequest('client_id does not match the client assertion');
    }
    const client = await findClient(ctx, subject);
    await verifyClientAssertion({
      client,
      assertion,
      audiences: [ctx.endpoints.token, ctx.issuer],
      store: ctx.store,
      now: ctx.now(),
      maxLifetime: ctx.options.clientAssertionMaxLifetime,
    });
    return { client, method: 'private_key_jwt' };
  }

  if (bodyClientId === undefined) throw invalidClient('client authentication required');
  const client = await findClient(ctx, bodyClientId);
  // RFC 8705 2: the certificate is the credential, and only for a client registered to use it.
  if (client.token_endpoint_auth_method === 'tls_client_auth') {
    checkTlsClientAuth(client, request);
    return { client, method: 'tls_client_auth' };
  }
  if (client.token_endpoint_auth_method === 'self_signed_tls_client_auth') {
    checkSelfSignedTlsClientAuth(ctx, client, request);
    return { client, method: 'self_signed_tls_client_auth' };
  }
  // A confidential client naming itself without proof is not authenticated (RFC 6749 3.2.1).
  if (!isPublicClient(client)) throw invalidClient('client authentication required');
  return { client, method: 'none' };
}
