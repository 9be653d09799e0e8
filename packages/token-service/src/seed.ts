import { ConfigError, TesseraTypeError } from '@tessera/core';
import { type ConfigProblem, type DeepReadonly, loadConfig } from '@tessera/core/config';
import type { UserClaims, UserDirectory } from '@tessera/identity';
import { z } from 'zod';
import type { TokenService } from './app.js';
import { contextOf } from './context.js';
import { hashClientSecret } from './lib/secrets.js';
import type { Client } from './store/client.js';
import {
  clientRegistrationSchema,
  type ValidRegistration,
  validateRegistration,
} from './store/client-registration.js';
import { ClientRepository } from './store/clients.js';

/** What applying a seed did, by id: for the startup log and the tests. */
export interface SeedResult {
  readonly clients: {
    readonly created: readonly string[];
    readonly updated: readonly string[];
    readonly unchanged: readonly string[];
  };
  readonly users: { readonly created: readonly string[]; readonly existing: readonly string[] };
}

const MIN_SECRET_LENGTH = 32;

const userSchema = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  claims: z.record(z.string(), z.unknown()).optional(),
});

// A client is read with the registration's own schema (its shape and limits, reported with the
// file's line); the rules across fields are validateRegistration's, so a seed, the CLI and
// `service.clients` accept exactly the same clients.
const seedSchema = z.object({
  clients: z.array(clientRegistrationSchema).default([]),
  users: z.array(userSchema).default([]),
});

/** A user of the seed file: created when missing, never changed afterwards. */
export type SeedUser = DeepReadonly<z.output<typeof userSchema>>;

/** The seed file (issue 3): clients to register and users to create, applied at every start. */
export type Seed = DeepReadonly<z.output<typeof seedSchema>>;

function seedProblem(file: string, path: string, message: string): ConfigError {
  const problem: ConfigProblem = { source: `seed file ${file}`, path, message };
  return new ConfigError('ERR_CONFIG_INVALID', `seed file ${file}: ${path}: ${message}`, {
    problems: [problem],
  });
}

/**
 * Reads and checks a seed file (`.yaml`, `.yml` or `.json`): its shape (unknown keys refused),
 * then every client against the registration rules, then duplicate ids. Throws a `ConfigError`
 * with one line per problem, each naming the file, the line when known and the path
 * (`clients[1].redirect_uris[0]`); never a value, so a secret in the file is never echoed.
 */
export function loadSeedFile(file: string): Seed {
  let loaded: ReturnType<typeof loadConfig<typeof seedSchema>>;
  try {
    // No environment layer: a seed is exactly what is in the file.
    loaded = loadConfig({ schema: seedSchema, file, env: {}, envPrefix: 'TESSERA_SEED' });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const problems = error.problems.map((problem) => ({
      ...problem,
      source: problem.source.replace(/^config file/, 'seed file'),
    }));
    const message =
      problems.length === 0
        ? error.message.replace(/^config file/, 'seed file')
        : problems
            .map((problem) => `${problem.source}: ${problem.path || '(root)'}: ${problem.message}`)
            .join('\n');
    throw new ConfigError(error.code, message, { problems, cause: error });
  }
  const seed: Seed = loaded.config;
  const clientIds = new Set<string>();
  seed.clients.forEach((client, index) => {
    try {
      validateRegistration(client);
    } catch (error) {
      // The registration names the client and the rule; the path names where it is in the file.
      throw seedProblem(file, `clients[${index}]`, error instanceof Error ? error.message : 'invalid client');
    }
    if (clientIds.has(client.client_id)) {
      throw seedProblem(file, `clients[${index}].client_id`, `${client.client_id} appears twice`);
    }
    clientIds.add(client.client_id);
  });
  const usernames = new Set<string>();
  seed.users.forEach((user, index) => {
    const key = user.username.normalize('NFKC').toLowerCase();
    if (usernames.has(key)) throw seedProblem(file, `users[${index}].username`, 'appears twice');
    usernames.add(key);
  });
  return seed;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

function unchanged(stored: Client, valid: ValidRegistration, secretKey: Buffer): boolean {
  const secretHash =
    valid.client_secret === undefined ? undefined : hashClientSecret(secretKey, valid.client_secret);
  return (
    stored.secret_hash === secretHash &&
    stored.client_name === valid.client_name &&
    sameList(stored.redirect_uris, valid.redirect_uris) &&
    sameList(stored.post_logout_redirect_uris, valid.post_logout_redirect_uris) &&
    sameList(stored.grant_types, valid.grant_types) &&
    sameList(stored.scopes, valid.scopes) &&
    sameList(stored.audiences, valid.audiences) &&
    stored.first_party === valid.first_party &&
    stored.token_endpoint_auth_method === valid.token_endpoint_auth_method &&
    stored.token_endpoint_auth_signing_alg === valid.token_endpoint_auth_signing_alg &&
    JSON.stringify(stored.jwks) === JSON.stringify(valid.jwks) &&
    stored.id_token_signed_response_alg === valid.id_token_signed_response_alg &&
    stored.backchannel_logout_uri === valid.backchannel_logout_uri &&
    stored.backchannel_logout_session_required === valid.backchannel_logout_session_required &&
    stored.dpop_bound_access_tokens === valid.dpop_bound_access_tokens &&
    stored.tls_client_auth_subject?.field === valid.tls_client_auth_subject?.field &&
    stored.tls_client_auth_subject?.value === valid.tls_client_auth_subject?.value &&
    stored.tls_client_certificate_bound_access_tokens === valid.tls_client_certificate_bound_access_tokens &&
    stored.dpop_bound_subject_tokens === valid.dpop_bound_subject_tokens
  );
}

export interface ApplySeedOptions {
  /** The service the clients go to (its repository, so its cache is invalidated at once). */
  readonly service: TokenService;
  /** Where seeded users are created. Needed only when the seed has users. */
  readonly users?: UserDirectory;
  /** `tessera dev`: no warning for short client secrets. Default: the service's `dev` option. */
  readonly dev?: boolean;
  /** Receives operator warnings. Default: the service's logger. */
  readonly warn?: (message: string) => void;
}

/**
 * Applies a seed, idempotently: a client that is missing is created, one that differs is
 * replaced (its secret hashed again), one that matches is not written at all; a user that is
 * missing is created, and an existing user is left exactly as it is (password and claims), so a
 * password changed since is never reset by a restart. Nothing is ever deleted.
 */
export async function applySeed(seed: Seed, options: ApplySeedOptions): Promise<SeedResult> {
  const { service } = options;
  const ctx = contextOf(service);
  const dev = options.dev ?? ctx.options.dev;
  const warn = options.warn ?? ((message: string) => ctx.log.warn(message));
  const secretKey = ctx.secrets.clientSecret;
  // Writes go through a repository that does not warn, so each short secret is warned about once,
  // here, whether the client is written now or was already stored by an earlier start.
  const writer = new ClientRepository({ db: ctx.db, secretKey, cacheTtlMs: 0, dev: true });
  const created: string[] = [];
  const updated: string[] = [];
  const same: string[] = [];
  for (const registration of seed.clients) {
    const valid = validateRegistration(registration);
    service.clients.invalidate(valid.client_id);
    const stored = await service.clients.find(valid.client_id);
    if (!dev && valid.client_secret !== undefined && valid.client_secret.length < MIN_SECRET_LENGTH) {
      warn(
        `client ${valid.client_id}: its seeded secret is shorter than ${MIN_SECRET_LENGTH} characters; use a long random secret outside development`,
      );
    }
    if (stored !== undefined && unchanged(stored, valid, secretKey)) {
      same.push(valid.client_id);
      continue;
    }
    await writer.upsert(registration);
    service.clients.invalidate(valid.client_id);
    (stored === undefined ? created : updated).push(valid.client_id);
  }
  const usersCreated: string[] = [];
  const usersExisting: string[] = [];
  if (seed.users.length > 0) {
    const directory = options.users;
    if (directory === undefined) {
      throw new TesseraTypeError(
        'ERR_INVALID_SEED_OPTIONS',
        'applySeed: the seed has users but no user directory was given',
      );
    }
    for (const [index, user] of seed.users.entries()) {
      if ((await directory.findByUsername(user.username)) !== null) {
        usersExisting.push(user.username);
        continue;
      }
      try {
        await directory.create(user.username, user.password, user.claims as UserClaims | undefined);
        usersCreated.push(user.username);
      } catch (error) {
        // Another instance applying the same seed at the same time created it first.
        if ((error as { code?: unknown }).code === 'ERR_USER_EXISTS') usersExisting.push(user.username);
        else {
          const reason = error instanceof Error ? error.message : 'invalid user';
          throw new ConfigError('ERR_CONFIG_INVALID', `seed users[${index}]: ${reason}`, { cause: error });
        }
      }
    }
  }
  return Object.freeze({
    clients: Object.freeze({ created, updated, unchanged: same }),
    users: Object.freeze({ created: usersCreated, existing: usersExisting }),
  });
}
