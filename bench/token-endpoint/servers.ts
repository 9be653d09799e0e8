// The servers of the token-endpoint benchmark, each answering `POST /token` with
// grant_type=client_credentials and client_secret_basic. Run as a child process by index.ts
// (`servers.ts <kind>`): it listens on a free port, prints `READY <port>`, and exits on SIGTERM
// after closing what it opened. startServer() also runs them in-process.
import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InProcessChannel, MemoryStore } from '@tessera/storage';
import { createDatabase } from '@tessera/storage/sql';
import { openTokenService } from '@tessera/token-service';
import Fastify from 'fastify';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import pg from 'pg';
import { type RunningServer, serveIfMain } from '../lib/servers.js';

export type ServerKind = 'bare' | 'floor' | 'tessera' | 'tessera-postgres' | 'oidc-provider';

export const CLIENT_ID = 'orders';
export const CLIENT_SECRET = 'orders-bench-secret-0123456789abcdef-0123456789';
export const SCOPE = 'inventory:reserve';
const AUDIENCE = 'inventory';
const postgresUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function listening(
  listen: (port: number) => Promise<unknown>,
  address: () => AddressInfo | string | null,
) {
  await listen(0);
  return (address() as AddressInfo).port;
}

/**
 * Bare Fastify, no OAuth: a form parser and `POST /token` answering a token response (the same
 * no-store headers as a real one) with the access token `accessToken(issuer)` makes, where
 * `issuer` is the server's own URL.
 */
async function bareTokenRoute(accessToken: (issuer: string) => string): Promise<RunningServer> {
  const app = Fastify({ logger: false });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, new URLSearchParams(body as string)),
  );
  let issuer = '';
  app.post('/token', async (_request, reply) => {
    const token = accessToken(issuer);
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return { access_token: token, token_type: 'Bearer', expires_in: 300, scope: SCOPE };
  });
  const port = await listening(
    (p) => app.listen({ host: '127.0.0.1', port: p }),
    () => app.server.address(),
  );
  issuer = `http://127.0.0.1:${port}`;
  return { port, close: () => app.close() };
}

/** The ceiling: the same JWT-sized string every time, nothing signed. */
function bare(): Promise<RunningServer> {
  const accessToken = randomBytes(300).toString('base64url');
  return bareTokenRoute(() => accessToken);
}

/**
 * The floor: one freshly signed EdDSA JWT per request and nothing else (no client authentication,
 * no scope or audience check, no hooks): the claims of a Tessera client-credentials token with a
 * random `jti`, one Ed25519 signature on a cached KeyObject through node:crypto. What any token
 * endpoint on Fastify pays at least.
 */
function floor(): Promise<RunningServer> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid: 'floor' })).toString(
    'base64url',
  );
  return bareTokenRoute((issuer) => {
    const iat = Math.floor(Date.now() / 1000);
    const claims = {
      sub: CLIENT_ID,
      client_id: CLIENT_ID,
      scope: SCOPE,
      aud: AUDIENCE,
      iss: issuer,
      iat,
      exp: iat + 300,
      jti: randomUUID(),
    };
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
  });
}

/** Tessera's token service as `tessera token-service` runs it: SQLite file (or PostgreSQL), no log. */
async function tessera(dialect: 'sqlite' | 'postgres'): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-bench-token-'));
  const schema = `tessera_bench_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  if (dialect === 'postgres') await admin(`create schema ${schema}`);
  const database =
    dialect === 'sqlite'
      ? await createDatabase({ dialect: 'sqlite', filename: join(dir, 'tessera.db') })
      : await createDatabase({ dialect: 'postgres', connectionString: postgresUrl, searchPath: schema });
  const store = new MemoryStore();
  const channel = new InProcessChannel();
  // The issuer names the port, so the HTTP server is bound first and handed to Fastify after.
  const { createServer } = await import('node:http');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const service = await openTokenService({
    issuer: `http://127.0.0.1:${port}`,
    database,
    store,
    channel,
    secret: randomBytes(32),
  });
  await service.clients.upsert({
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    grant_types: ['client_credentials'],
    scopes: [SCOPE],
    audiences: [AUDIENCE],
  });
  await service.app.ready();
  server.on('request', (request, response) => service.app.routing(request, response));
  return {
    port,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await service.close();
      await store.close();
      await channel.close();
      await database.destroy();
      if (dialect === 'postgres') await admin(`drop schema if exists ${schema} cascade`);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * oidc-provider 9 issuing JWT access tokens for client_credentials through resource indicators,
 * signed EdDSA with an Ed25519 key (Tessera's key type), client_secret_basic, no logging.
 */
async function oidcProvider(): Promise<RunningServer> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'bench-ed25519', alg: 'EdDSA', use: 'sig' };
  const { createServer } = await import('node:http');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: SCOPE,
        // Its only key is Ed25519; the default RS256 would need an RSA key it never uses here.
        id_token_signed_response_alg: 'EdDSA',
      },
    ],
    jwks: { keys: [jwk] },
    scopes: [SCOPE],
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:tessera:inventory',
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: SCOPE,
          audience: AUDIENCE,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'EdDSA' } },
        }),
      },
    },
  });
  // Errors are answered to the client; the benchmark must not pay for printing them.
  provider.on('server_error', () => {});
  server.on('request', provider.callback());
  return {
    port,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export function startServer(kind: ServerKind): Promise<RunningServer> {
  if (kind === 'bare') return bare();
  if (kind === 'floor') return floor();
  if (kind === 'tessera') return tessera('sqlite');
  if (kind === 'tessera-postgres') return tessera('postgres');
  return oidcProvider();
}

await serveIfMain(import.meta.url, ([kind]) => startServer(kind as ServerKind));
