import { randomBytes } from 'node:crypto';
import { textTable } from '@tessera/core';
import type { Client, ClientRegistration } from '@tessera/token-service';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { readFlagFile } from '../lib/files.js';
import { usage } from '../lib/options.js';
import {
  type AdminDatabaseOptions,
  defaultDatabaseUrl,
  readStandardInput,
  withAdminDatabase,
} from './service-secret.js';

interface AddOptions extends AdminDatabaseOptions {
  readonly name?: string;
  readonly redirectUri?: string[];
  readonly postLogoutRedirectUri?: string[];
  readonly allowedOrigin?: string[];
  readonly backchannelLogoutUri?: string;
  readonly grantType?: string[];
  readonly scope?: string[];
  readonly audience?: string[];
  readonly firstParty?: boolean;
  readonly dpopBound?: boolean;
  readonly dpopBoundSubjects?: boolean;
  readonly certificateBound?: boolean;
  readonly tlsSubjectDn?: string;
  readonly tlsSanDns?: string;
  readonly tlsSanUri?: string;
  readonly tlsSanIp?: string;
  readonly tlsSanEmail?: string;
  readonly authMethod?: string;
  readonly jwksFile?: string;
  readonly idTokenAlg?: string;
  readonly public?: boolean;
  readonly clientSecretStdin?: boolean;
}

interface ListOptions extends AdminDatabaseOptions {
  readonly json?: boolean;
}

/** Whether the client authenticates with a secret, from the flags alone (as the registration decides). */
function usesSecret(options: AddOptions): boolean {
  if (options.authMethod !== undefined) {
    return options.authMethod === 'client_secret_basic' || options.authMethod === 'client_secret_post';
  }
  return options.public !== true && options.jwksFile === undefined;
}

async function registrationOf(
  clientId: string,
  options: AddOptions,
  secret: string | undefined,
): Promise<ClientRegistration> {
  let jwks: unknown;
  if (options.jwksFile !== undefined) {
    const text = (await readFlagFile('--jwks-file', options.jwksFile)).toString('utf8');
    try {
      jwks = JSON.parse(text);
    } catch {
      throw new Error(`--jwks-file ${options.jwksFile} is not JSON`);
    }
  }
  // The one schema types the flags as given (naming the field a flag got wrong); the repository
  // then checks the rules across fields.
  const { parseClientRegistration } = await import('@tessera/token-service');
  return parseClientRegistration({
    client_id: clientId,
    ...(secret === undefined ? {} : { client_secret: secret }),
    ...(options.name === undefined ? {} : { client_name: options.name }),
    ...(options.redirectUri === undefined ? {} : { redirect_uris: options.redirectUri }),
    ...(options.postLogoutRedirectUri === undefined
      ? {}
      : { post_logout_redirect_uris: options.postLogoutRedirectUri }),
    ...(options.allowedOrigin === undefined ? {} : { allowed_origins: options.allowedOrigin }),
    ...(options.backchannelLogoutUri === undefined
      ? {}
      : { backchannel_logout_uri: options.backchannelLogoutUri }),
    ...(options.grantType === undefined ? {} : { grant_types: options.grantType }),
    ...(options.scope === undefined ? {} : { scopes: options.scope }),
    ...(options.audience === undefined ? {} : { audiences: options.audience }),
    ...(options.firstParty === true ? { first_party: true } : {}),
    ...(options.dpopBound === true ? { dpop_bound_access_tokens: true } : {}),
    ...(options.dpopBoundSubjects === true ? { dpop_bound_subject_tokens: true } : {}),
    ...(options.certificateBound === true ? { tls_client_certificate_bound_access_tokens: true } : {}),
    ...(options.tlsSubjectDn === undefined ? {} : { tls_client_auth_subject_dn: options.tlsSubjectDn }),
    ...(options.tlsSanDns === undefined ? {} : { tls_client_auth_san_dns: options.tlsSanDns }),
    ...(options.tlsSanUri === undefined ? {} : { tls_client_auth_san_uri: options.tlsSanUri }),
    ...(options.tlsSanIp === undefined ? {} : { tls_client_auth_san_ip: options.tlsSanIp }),
    ...(options.tlsSanEmail === undefined ? {} : { tls_client_auth_san_email: options.tlsSanEmail }),
    ...(options.authMethod === undefined ? {} : { token_endpoint_auth_method: options.authMethod }),
    ...(jwks === undefined ? {} : { jwks }),
    ...(options.idTokenAlg === undefined ? {} : { id_token_signed_response_alg: options.idTokenAlg }),
  });
}

/** What `clients list --json` shows: the registration, never the secret's hash. */
function publicView(client: Client): Omit<Client, 'secret_hash'> & { confidential: boolean } {
  const { secret_hash: _secretHash, ...rest } = client;
  // Confidential: it holds a credential, a secret, a signing key or a TLS certificate (not `none`).
  return { ...rest, confidential: client.token_endpoint_auth_method !== 'none' };
}

export function registerClientsCommand(program: Command, context: CliContext): void {
  const clients = program
    .command('clients')
    .description('register, list and remove OAuth clients of the token service');
  const common = (command: Command) =>
    command
      .option('--db <url>', 'database: sqlite:FILE or postgres://…', defaultDatabaseUrl)
      .option('--secret-file <file>', 'development secret file when TESSERA_SECRET is not set');

  common(
    clients
      .command('add <client_id>')
      .description(
        'register a client; a confidential client gets a generated secret, printed once (or --client-secret-stdin)',
      ),
  )
    .option('--name <name>', 'a display name')
    .option('--redirect-uri <uri...>', 'redirect URIs (authorization_code)')
    .option('--post-logout-redirect-uri <uri...>', 'where /logout may send the browser back')
    .option('--allowed-origin <origin...>', 'web origins its browser application runs at (CORS)')
    .option('--backchannel-logout-uri <url>', 'where Logout Tokens are POSTed when a session of it ends')
    .option('--grant-type <grant...>', 'grant types (default: from the redirect URIs)')
    .option('--scope <scope...>', 'the scopes it may ask for')
    .option('--audience <audience...>', 'the audiences of its tokens')
    .option('--first-party', 'skip the consent page')
    .option(
      '--dpop-bound',
      'refuse its token requests without a DPoP proof (RFC 9449 dpop_bound_access_tokens)',
    )
    .option(
      '--dpop-bound-subjects',
      "let it exchange tokens bound to its callers' DPoP keys (dpop_bound_subject_tokens: it checks their proofs)",
    )
    .option(
      '--certificate-bound',
      'bind its access tokens to its TLS client certificate (RFC 8705 tls_client_certificate_bound_access_tokens)',
    )
    .option(
      '--auth-method <method>',
      'client_secret_basic, client_secret_post, private_key_jwt, tls_client_auth, self_signed_tls_client_auth or none',
    )
    .option(
      '--tls-subject-dn <dn>',
      'tls_client_auth: the certificate subject DN (RFC 4514, CN=orders,O=Shop)',
    )
    .option('--tls-san-dns <name>', 'tls_client_auth: a dNSName the certificate must carry')
    .option('--tls-san-uri <uri>', 'tls_client_auth: a URI subjectAltName the certificate must carry')
    .option('--tls-san-ip <ip>', 'tls_client_auth: an iPAddress subjectAltName the certificate must carry')
    .option('--tls-san-email <email>', 'tls_client_auth: an rfc822Name the certificate must carry')
    .option(
      '--jwks-file <file>',
      "the client's public keys (JWKS JSON) for private_key_jwt or self_signed_tls_client_auth",
    )
    .option('--id-token-alg <alg>', 'RS256 (default), EdDSA or ES256')
    .option('--public', 'a public client (no secret; PKCE)')
    .option('--client-secret-stdin', 'read the secret from standard input instead of generating one')
    .action(async (clientId: string, options: AddOptions) => {
      const withSecret = usesSecret(options);
      if (!withSecret && options.clientSecretStdin === true) {
        throw usage('--client-secret-stdin is for a client that authenticates with a secret');
      }
      let secret: string | undefined;
      let generated = false;
      if (withSecret) {
        if (options.clientSecretStdin === true) secret = await readStandardInput();
        else {
          secret = randomBytes(32).toString('base64url');
          generated = true;
        }
      }
      const registration = await registrationOf(clientId, options, secret);
      const client = await withAdminDatabase(options, context.env, context.io, async (db, serviceSecret) => {
        const { openClientRepository } = await import('@tessera/token-service');
        const repository = openClientRepository({
          database: db,
          secret: serviceSecret,
          warn: (message) => context.io.err(`tessera: WARNING: ${message}\n`),
        });
        return repository.register(registration);
      });
      context.io.out(`added client ${client.client_id} (${client.token_endpoint_auth_method})\n`);
      if (generated && secret !== undefined) {
        // The only time it is shown: only its keyed hash is stored.
        context.io.out(`client_secret: ${secret}\n`);
        context.io.err('tessera: store the client secret now; it cannot be shown again\n');
      }
    });

  common(clients.command('list').description('list the registered clients'))
    .option('--json', 'print a JSON array instead of a table')
    .action(async (options: ListOptions) => {
      const all = await withAdminDatabase(options, context.env, context.io, async (db, secret) => {
        const { openClientRepository } = await import('@tessera/token-service');
        return openClientRepository({ database: db, secret }).list();
      });
      if (options.json === true) {
        context.io.out(`${JSON.stringify(all.map(publicView), null, 2)}\n`);
        return;
      }
      if (all.length === 0) {
        context.io.out('no clients\n');
        return;
      }
      const rows = [
        ['CLIENT_ID', 'AUTH', 'GRANTS', 'SCOPES', 'AUDIENCES'],
        ...all.map((client) => [
          client.client_id,
          client.token_endpoint_auth_method,
          client.grant_types.join(','),
          client.scopes.join(' '),
          client.audiences.join(' '),
        ]),
      ];
      context.io.out(`${textTable(rows)}\n`);
    });

  common(
    clients
      .command('remove <client_id>')
      .description('remove a client (its tokens stay valid until they expire)'),
  ).action(async (clientId: string, options: AdminDatabaseOptions) => {
    const removed = await withAdminDatabase(options, context.env, context.io, async (db, secret) => {
      const { openClientRepository } = await import('@tessera/token-service');
      return openClientRepository({ database: db, secret }).remove(clientId);
    });
    if (!removed) throw new Error(`no client ${JSON.stringify(clientId.slice(0, 64))}`);
    context.io.out(`removed client ${clientId}\n`);
  });
}
