import type { AddressInfo } from 'node:net';
import { InProcessChannel, MemoryStore } from '@tessera/storage';
import { createDatabase } from '@tessera/storage/sql';
import {
  type ClientRegistration,
  listenMtlsAliases,
  openTokenService,
  type TokenService,
} from '@tessera/token-service';
import { Agent, request } from 'undici';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  type IssuedCertificate,
} from '../certificates.js';
import type { TestDatabase } from '../databases.js';
import { TEST_SECRET } from './harness.js';

/** The issuer of the mutual-TLS token service (it listens on 127.0.0.1, port 0, under this name). */
export const MTLS_ISSUER = 'https://issuer.tessera.test';

export interface MtlsHarness {
  /** `https://127.0.0.1:<port>`, where the service takes mutual TLS. */
  readonly url: string;
  /** The issuer's own listener: `url` again, or with `aliases` the plain `http://` one. */
  readonly issuerUrl: string;
  readonly service: TokenService;
  /** The CA that signed the server's certificate and is the service's `tls.clientCa`. */
  readonly ca: CertificateAuthority;
  /** An undici Agent trusting `ca` that presents `client` in its handshakes (none when undefined). */
  agent(client?: IssuedCertificate): Agent;
  /** POSTs a form to `path` over a connection presenting `client`. */
  post(path: string, form: Record<string, string>, client?: IssuedCertificate): Promise<FormAnswer>;
  stop(): Promise<void>;
}

export interface FormAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/**
 * The real token service over mutual TLS (RFC 8705): its own Fastify HTTPS listener with a server
 * certificate of a fresh test CA, asking every client for a certificate and trusting that CA for
 * `tls_client_auth` (`tls.clientCa`).
 */
export interface MtlsHarnessOptions {
  /** The CA of the server's certificate and the service's trust anchors; default a fresh one. */
  readonly ca?: CertificateAuthority;
  /**
   * RFC 8705 5: the issuer on plain http (`http://127.0.0.1`) and mutual TLS on a listener of its
   * own (`mtlsAliases`, at `url`), instead of one HTTPS listener asking for certificates.
   */
  readonly aliases?: boolean;
}

export async function startMtlsService(
  database: TestDatabase,
  clients: readonly ClientRegistration[],
  options: MtlsHarnessOptions = {},
): Promise<MtlsHarness> {
  const authority = options.ca ?? (await createCertificateAuthority());
  const server = await authority.issue({ subject: 'CN=127.0.0.1', ips: ['127.0.0.1'], usage: 'server' });
  const db = await createDatabase(database.config);
  const store = new MemoryStore({ prefix: 'mtls-test:' });
  const channel = new InProcessChannel();
  const tls = { cert: server.cert, key: server.key, clientCa: authority.cert };
  const service = await openTokenService({
    database: db,
    store,
    channel,
    secret: TEST_SECRET,
    ...(options.aliases === true
      ? { issuer: 'http://127.0.0.1', mtlsAliases: { origin: 'https://127.0.0.1', ...tls } }
      : { issuer: MTLS_ISSUER, tls }),
  });
  for (const client of clients) await service.clients.upsert(client);
  await service.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = service.app.server.address() as AddressInfo;
  const aliases =
    options.aliases === true ? await listenMtlsAliases(service, { host: '127.0.0.1', port: 0 }) : undefined;
  const issuerUrl = `${options.aliases === true ? 'http' : 'https'}://127.0.0.1:${port}`;
  const url = aliases?.url ?? issuerUrl;
  const agents: Agent[] = [];
  function agent(client?: IssuedCertificate): Agent {
    const made = new Agent({
      connect: {
        ca: authority.cert,
        ...(client === undefined ? {} : { cert: client.cert, key: client.key }),
      },
    });
    agents.push(made);
    return made;
  }
  return {
    url,
    issuerUrl,
    service,
    ca: authority,
    agent,
    async post(path, form, client) {
      const answer = await request(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
        dispatcher: agent(client),
      });
      return { status: answer.statusCode, body: (await answer.body.json()) as Record<string, unknown> };
    },
    async stop() {
      for (const made of agents) await made.close();
      await aliases?.close();
      await service.close();
      await store.close();
      await channel.close();
      await db.destroy();
    },
  };
}
