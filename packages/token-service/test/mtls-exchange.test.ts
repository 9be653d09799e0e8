import { X509Certificate } from 'node:crypto';
import { certificateThumbprint } from '@tessera/core';
import type { ClientRegistration } from '@tessera/token-service';
import { decodeJwt } from 'jose';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  type IssuedCertificate,
} from '../../../test/support/certificates.js';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import { type MtlsHarness, startMtlsService } from '../../../test/support/token-service/mtls.js';

// Token exchange (RFC 8693) of a certificate-bound subject token (RFC 8705 3), over real mutual
// TLS: undici presents each client certificate in the handshake. The subject stays bound along the
// chain: its holder, or an exchanger registered to take bound subjects, gets a token bound to the
// certificate of its own connection; anyone else is refused. docs/security.md C167.

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange' as const;
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const EDGE_SECRET = 'edge-secret-0123456789abcdef-0123456789abc';
const PLAIN_SECRET = 'plain-secret-0123456789abcdef-0123456789ab';

let database: TestDatabase;
let harness: MtlsHarness;
let ca: CertificateAuthority;
let edgeCertificate: IssuedCertificate;
let ordersCertificate: IssuedCertificate;
let intruderCertificate: IssuedCertificate;

/** The holder: authenticates by secret, its tokens bound to its connection's certificate. */
const edge = {
  client_id: 'edge',
  client_secret: EDGE_SECRET,
  grant_types: ['client_credentials', TOKEN_EXCHANGE],
  scopes: ['orders:write'],
  audiences: ['edge', 'orders', 'reporting', 'plain'],
  tls_client_certificate_bound_access_tokens: true,
} as ClientRegistration;

/** Behind the holder, by its certificate: registered to exchange the subjects it checked the binding of. */
const orders = {
  client_id: 'orders',
  token_endpoint_auth_method: 'tls_client_auth',
  tls_client_auth_subject_dn: 'CN=orders',
  grant_types: [TOKEN_EXCHANGE],
  scopes: ['inventory:reserve'],
  audiences: ['inventory'],
  tls_client_certificate_bound_access_tokens: true,
  dpop_bound_subject_tokens: true,
} as ClientRegistration;

/** Another service by its certificate, not registered for bound subjects. */
const reporting = {
  client_id: 'reporting',
  token_endpoint_auth_method: 'tls_client_auth',
  tls_client_auth_subject_dn: 'CN=reporting',
  grant_types: [TOKEN_EXCHANGE],
  scopes: ['inventory:reserve'],
  audiences: ['inventory'],
  tls_client_certificate_bound_access_tokens: true,
} as ClientRegistration;

/** A client by secret whose tokens are not bound: it can have no certificate to bind an exchange to. */
const plain = {
  client_id: 'plain',
  client_secret: PLAIN_SECRET,
  grant_types: [TOKEN_EXCHANGE],
  scopes: ['inventory:reserve'],
  audiences: ['inventory'],
  dpop_bound_subject_tokens: true,
} as ClientRegistration;

let reportingCertificate: IssuedCertificate;

beforeAll(async () => {
  database = await sqlite.create();
  ca = await createCertificateAuthority();
  edgeCertificate = await ca.issue({ subject: 'CN=edge', usage: 'client' });
  ordersCertificate = await ca.issue({ subject: 'CN=orders', usage: 'client' });
  reportingCertificate = await ca.issue({ subject: 'CN=reporting', usage: 'client' });
  intruderCertificate = await ca.issue({ subject: 'CN=intruder', usage: 'client' });
  harness = await startMtlsService(database, [edge, orders, reporting, plain], { ca });
});

afterAll(async () => {
  await harness?.stop();
  await database?.cleanup();
});

const thumbprintOf = (certificate: IssuedCertificate) =>
  certificateThumbprint(new X509Certificate(certificate.cert));

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** POST /token over a connection presenting `certificate`, with `authorization` when given. */
async function token(
  form: Record<string, string>,
  certificate: IssuedCertificate | undefined,
  authorization?: string,
): Promise<Answer> {
  const answer = await request(`${harness.url}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(authorization === undefined ? {} : { authorization }),
    },
    body: new URLSearchParams(form).toString(),
    dispatcher: harness.agent(certificate),
  });
  return { status: answer.statusCode, body: (await answer.body.json()) as Record<string, unknown> };
}

/** edge's own token, bound to its certificate and meant for edge, orders, reporting and plain. */
async function edgeToken(): Promise<string> {
  const answer = await token(
    { grant_type: 'client_credentials' },
    edgeCertificate,
    basic('edge', EDGE_SECRET),
  );
  expect(answer.status).toBe(200);
  const issued = answer.body.access_token as string;
  expect(decodeJwt(issued).cnf).toEqual({ 'x5t#S256': thumbprintOf(edgeCertificate) });
  return issued;
}

/** `clientId` names a client authenticating by its certificate alone (RFC 8705 2). */
const exchangeForm = (subject: string, audience: string, clientId?: string) => ({
  ...(clientId === undefined ? {} : { client_id: clientId }),
  grant_type: TOKEN_EXCHANGE,
  subject_token: subject,
  subject_token_type: ACCESS_TOKEN,
  audience,
});

describe('token exchange of a certificate-bound subject token (docs/security.md C167)', () => {
  it('C167: its holder, over its own certificate, gets a token bound to that certificate', async () => {
    const subject = await edgeToken();
    const exchanged = await token(
      exchangeForm(subject, 'orders'),
      edgeCertificate,
      basic('edge', EDGE_SECRET),
    );
    expect(exchanged.status).toBe(200);
    expect(exchanged.body).toMatchObject({ token_type: 'Bearer', issued_token_type: ACCESS_TOKEN });
    const claims = decodeJwt(exchanged.body.access_token as string);
    expect(claims.cnf).toEqual({ 'x5t#S256': thumbprintOf(edgeCertificate) });
    expect(claims.aud).toBe('orders');
    expect(claims.act).toEqual({ sub: 'edge' });
  });

  it("C167: a registered exchanger (dpop_bound_subject_tokens) gets a token bound to its own certificate, not its caller's", async () => {
    const subject = await edgeToken();
    const exchanged = await token(exchangeForm(subject, 'inventory', 'orders'), ordersCertificate);
    expect(exchanged.status).toBe(200);
    const claims = decodeJwt(exchanged.body.access_token as string);
    expect(claims.cnf).toEqual({ 'x5t#S256': thumbprintOf(ordersCertificate) });
    expect(claims.sub).toBe('edge');
    expect(claims.act).toEqual({ sub: 'orders' });
  });

  it("C167: its holder's credentials over another certificate (a copied token and a stolen secret) -> 400 invalid_grant", async () => {
    const subject = await edgeToken();
    const exchanged = await token(
      exchangeForm(subject, 'orders'),
      intruderCertificate,
      basic('edge', EDGE_SECRET),
    );
    expect(exchanged).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(exchanged.body.error_description).toMatch(/bound to another certificate/);
  });

  it('C167: a service not registered for bound subjects, over its own certificate -> 400 invalid_grant', async () => {
    const subject = await edgeToken();
    const exchanged = await token(exchangeForm(subject, 'inventory', 'reporting'), reportingCertificate);
    expect(exchanged).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(exchanged.body.error_description).toMatch(/bound to another certificate/);
  });

  it('C167: a client whose tokens are not certificate-bound, even registered for bound subjects -> 400 invalid_grant (never a bearer token for a bound one)', async () => {
    const subject = await edgeToken();
    for (const certificate of [undefined, intruderCertificate]) {
      const exchanged = await token(
        exchangeForm(subject, 'inventory'),
        certificate,
        basic('plain', PLAIN_SECRET),
      );
      expect(exchanged).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect(exchanged.body.error_description).toMatch(/register it for certificate-bound tokens/);
    }
  });

  it('C167: its holder without a certificate -> 400 invalid_request, nothing issued', async () => {
    const subject = await edgeToken();
    const exchanged = await token(exchangeForm(subject, 'orders'), undefined, basic('edge', EDGE_SECRET));
    expect(exchanged).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(exchanged.body.access_token).toBeUndefined();
  });
});
