import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { certificateThumbprint } from '@tessera/core';
import type { ClientRegistration } from '@tessera/token-service';
import { decodeJwt, exportJWK } from 'jose';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, signIn } from '../../../test/support/browser.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  createSelfSignedCertificate,
  type IssuedCertificate,
} from '../../../test/support/certificates.js';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import { type MtlsHarness, startMtlsService } from '../../../test/support/token-service/mtls.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';
import { validateRegistration } from '../src/store/client-registration.js';

// Mutual TLS at the token endpoint (RFC 8705 2, 3), over real TLS: undici presents each client
// certificate in the handshake, the service's own HTTPS listener asks for it. docs/security.md A152-A155.

const SECRET = 'bound-secret-0123456789abcdef-0123456789';
const CLIENT_CREDENTIALS = { grant_type: 'client_credentials' } as const;

let database: TestDatabase;
let harness: MtlsHarness;
let ca: CertificateAuthority;
let orders: IssuedCertificate;
let intruder: IssuedCertificate;
let foreignOrders: IssuedCertificate;
let registeredByKey: IssuedCertificate;
let registeredByX5c: IssuedCertificate;
let unregistered: IssuedCertificate;

function pkiClient(id: string, extra: Partial<ClientRegistration>): ClientRegistration {
  return {
    client_id: id,
    token_endpoint_auth_method: 'tls_client_auth',
    grant_types: ['client_credentials'],
    scopes: ['inventory:reserve'],
    audiences: ['inventory'],
    ...extra,
  } as ClientRegistration;
}

beforeAll(async () => {
  database = await sqlite.create();
  ca = await createCertificateAuthority();
  // The CA encodes the subject as written, most significant RDN first; RFC 4514 writes it reversed.
  orders = await ca.issue({
    subject: 'C=NL, O=Shop, CN=orders',
    dns: ['orders.shop.test'],
    uris: ['spiffe://shop.test/orders'],
    ips: ['10.0.0.7'],
    emails: ['orders@shop.test'],
    usage: 'client',
  });
  intruder = await ca.issue({
    subject: 'C=NL, O=Shop, CN=intruder',
    dns: ['intruder.test'],
    usage: 'client',
  });
  foreignOrders = await (await createCertificateAuthority('Another CA')).issue({
    subject: 'C=NL, O=Shop, CN=orders',
    dns: ['orders.shop.test'],
    usage: 'client',
  });
  registeredByKey = await createSelfSignedCertificate('CN=device-1');
  registeredByX5c = await createSelfSignedCertificate('CN=device-2');
  unregistered = await createSelfSignedCertificate('CN=device-1');
  const keyJwk = await exportJWK(registeredByKey.keys.publicKey);
  const x5cJwk = {
    ...(await exportJWK(registeredByX5c.keys.publicKey)),
    x5c: [registeredByX5c.der.toString('base64')],
  };
  harness = await startMtlsService(
    database,
    [
      pkiClient('orders-dn', {
        tls_client_auth_subject_dn: 'CN=orders,O=Shop,C=NL',
        tls_client_certificate_bound_access_tokens: true,
      }),
      pkiClient('orders-dns', { tls_client_auth_san_dns: 'Orders.Shop.Test' }),
      pkiClient('orders-uri', { tls_client_auth_san_uri: 'spiffe://shop.test/orders' }),
      pkiClient('orders-ip', { tls_client_auth_san_ip: '10.0.0.7' }),
      pkiClient('orders-email', { tls_client_auth_san_email: 'orders@shop.test' }),
      pkiClient('device-key', {
        token_endpoint_auth_method: 'self_signed_tls_client_auth',
        jwks: { keys: [keyJwk] },
        tls_client_certificate_bound_access_tokens: true,
      }),
      pkiClient('device-x5c', {
        token_endpoint_auth_method: 'self_signed_tls_client_auth',
        jwks: { keys: [x5cJwk] },
      }),
      {
        client_id: 'bound-secret',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        scopes: ['inventory:reserve'],
        audiences: ['inventory'],
        tls_client_certificate_bound_access_tokens: true,
      },
    ],
    { ca },
  );
});

afterAll(async () => {
  await harness?.stop();
  await database?.cleanup();
});

const thumbprintOf = (certificate: IssuedCertificate) =>
  certificateThumbprint(new X509Certificate(certificate.cert));

/** A client_credentials request as `clientId` over `certificate`, refused as RFC 8705 2 says. */
async function expectInvalidClient(clientId: string, certificate?: IssuedCertificate): Promise<void> {
  const answer = await harness.post('/token', { ...CLIENT_CREDENTIALS, client_id: clientId }, certificate);
  expect(answer.status).toBe(401);
  expect(answer.body.error).toBe('invalid_client');
}

describe('mutual TLS at the token endpoint (RFC 8705)', () => {
  it('discovery names both methods and certificate-bound tokens (RFC 8705 3.3)', async () => {
    const answer = await request(`${harness.url}/.well-known/oauth-authorization-server`, {
      dispatcher: harness.agent(),
    });
    const metadata = (await answer.body.json()) as Record<string, unknown>;
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['tls_client_auth', 'self_signed_tls_client_auth']),
    );
    expect(metadata.tls_client_certificate_bound_access_tokens).toBe(true);
    expect(metadata.mtls_endpoint_aliases).toBeUndefined();
  });

  it('A154: tls_client_auth by subject DN: a token bound to the certificate (cnf.x5t#S256), introspected with its cnf', async () => {
    const answer = await harness.post('/token', { ...CLIENT_CREDENTIALS, client_id: 'orders-dn' }, orders);
    expect(answer.status).toBe(200);
    expect(answer.body.token_type).toBe('Bearer');
    const token = answer.body.access_token as string;
    expect(decodeJwt(token).cnf).toEqual({ 'x5t#S256': thumbprintOf(orders) });
    const introspection = await harness.post('/introspect', { token, client_id: 'orders-dn' }, orders);
    expect(introspection.body).toMatchObject({
      active: true,
      token_type: 'Bearer',
      cnf: { 'x5t#S256': thumbprintOf(orders) },
    });
  });

  it.each(['orders-dns', 'orders-uri', 'orders-ip', 'orders-email'])(
    'tls_client_auth by subjectAltName (%s): authenticated, its token not bound (not registered so)',
    async (clientId) => {
      const answer = await harness.post('/token', { ...CLIENT_CREDENTIALS, client_id: clientId }, orders);
      expect(answer.status).toBe(200);
      expect(decodeJwt(answer.body.access_token as string).cnf).toBeUndefined();
    },
  );

  it('A152: tls_client_auth with another subject from the same CA: 401 invalid_client', async () => {
    for (const clientId of ['orders-dn', 'orders-dns', 'orders-uri', 'orders-ip', 'orders-email']) {
      await expectInvalidClient(clientId, intruder);
    }
  });

  it('A152: the registered subject in a certificate of a CA not trusted: 401 invalid_client', async () => {
    await expectInvalidClient('orders-dn', foreignOrders);
  });

  it('A152: tls_client_auth with no certificate: 401 invalid_client', async () => {
    await expectInvalidClient('orders-dn');
  });

  it('A153: self_signed_tls_client_auth by the registered key, and by the registered x5c', async () => {
    const byKey = await harness.post(
      '/token',
      { ...CLIENT_CREDENTIALS, client_id: 'device-key' },
      registeredByKey,
    );
    expect(byKey.status).toBe(200);
    expect(decodeJwt(byKey.body.access_token as string).cnf).toEqual({
      'x5t#S256': thumbprintOf(registeredByKey),
    });
    const byX5c = await harness.post(
      '/token',
      { ...CLIENT_CREDENTIALS, client_id: 'device-x5c' },
      registeredByX5c,
    );
    expect(byX5c.status).toBe(200);
  });

  it('A153: self_signed_tls_client_auth with an unregistered certificate (same subject, other key): 401 invalid_client', async () => {
    for (const clientId of ['device-key', 'device-x5c']) await expectInvalidClient(clientId, unregistered);
    // A CA-signed certificate is no self-signed client's either.
    await expectInvalidClient('device-key', orders);
  });

  it('A154: a client authenticating by secret and registered for bound tokens gets one bound to its certificate, and none without it', async () => {
    const basic = `Basic ${Buffer.from(`bound-secret:${SECRET}`).toString('base64')}`;
    const send = async (certificate?: IssuedCertificate) => {
      const answer = await request(`${harness.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: 'grant_type=client_credentials',
        dispatcher: harness.agent(certificate),
      });
      return { status: answer.statusCode, body: (await answer.body.json()) as Record<string, unknown> };
    };
    const bound = await send(intruder);
    expect(bound.status).toBe(200);
    expect(decodeJwt(bound.body.access_token as string).cnf).toEqual({ 'x5t#S256': thumbprintOf(intruder) });
    const without = await send();
    expect(without.status).toBe(400);
    expect(without.body.error).toBe('invalid_request');
  });
});

describe('mutual TLS registration rules (RFC 8705 2.1.2)', () => {
  const base = { client_id: 'x', grant_types: ['client_credentials'], audiences: ['a'] } as const;
  it.each([
    ['tls_client_auth with no subject field', { token_endpoint_auth_method: 'tls_client_auth' }],
    [
      'tls_client_auth with two subject fields',
      {
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_subject_dn: 'CN=x',
        tls_client_auth_san_dns: 'x.test',
      },
    ],
    ['a subject field for another method', { client_secret: SECRET, tls_client_auth_san_dns: 'x.test' }],
    [
      'self_signed_tls_client_auth with no jwks',
      { token_endpoint_auth_method: 'self_signed_tls_client_auth' },
    ],
    [
      'bound to a certificate and to a DPoP key at once',
      {
        client_secret: SECRET,
        tls_client_certificate_bound_access_tokens: true,
        dpop_bound_access_tokens: true,
      },
    ],
  ])('%s: ERR_CLIENT_REGISTRATION_INVALID', (_name, extra) => {
    expect(() => validateRegistration({ ...base, ...extra } as ClientRegistration)).toThrow(
      expect.objectContaining({ code: 'ERR_CLIENT_REGISTRATION_INVALID' }),
    );
  });
});

describe('mutual TLS on a listener of its own (RFC 8705 5, mtls_endpoint_aliases)', () => {
  const REDIRECT = 'http://127.0.0.1:8765/callback';
  let aliasDatabase: TestDatabase;
  let aliased: MtlsHarness;
  let plain: string;
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };

  beforeAll(async () => {
    aliasDatabase = await sqlite.create();
    aliased = await startMtlsService(
      aliasDatabase,
      [
        pkiClient('orders-dn', {
          tls_client_auth_subject_dn: 'CN=orders,O=Shop,C=NL',
          tls_client_certificate_bound_access_tokens: true,
        }),
        // A public client (a device holding a key in its TLS stack): its tokens and refresh tokens bound.
        {
          client_id: 'device-app',
          redirect_uris: [REDIRECT],
          grant_types: ['authorization_code', 'refresh_token'],
          scopes: ['openid'],
          audiences: ['inventory'],
          first_party: true,
          tls_client_certificate_bound_access_tokens: true,
        },
      ],
      { ca, aliases: true },
    );
    await addAlice(aliased.service);
    plain = aliased.issuerUrl;
  });

  afterAll(async () => {
    await aliased?.stop();
    await aliasDatabase?.cleanup();
  });

  async function aliasToken(form: Record<string, string>, certificate: IssuedCertificate) {
    const answer = await aliased.post('/token', form, certificate);
    return { status: answer.status, body: answer.body as Record<string, string> };
  }

  it('discovery names the aliases; tls_client_auth and bound tokens there, not on the issuer listener', async () => {
    const metadata = (await (await fetch(`${plain}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(metadata.mtls_endpoint_aliases).toMatchObject({ token_endpoint: 'https://127.0.0.1/token' });
    expect(metadata.tls_client_certificate_bound_access_tokens).toBe(true);
    const form = { grant_type: 'client_credentials', client_id: 'orders-dn' };
    const viaAlias = await aliasToken(form, orders);
    expect(viaAlias.status).toBe(200);
    expect(decodeJwt(viaAlias.body.access_token as string).cnf).toEqual({ 'x5t#S256': thumbprintOf(orders) });
    // The issuer's own listener asks for no certificate: the same client is not authenticated there.
    const viaIssuer = await fetch(`${plain}/token`, {
      method: 'POST',
      headers,
      body: new URLSearchParams(form).toString(),
    });
    expect(viaIssuer.status).toBe(401);
  });

  it("A154: a public client's certificate-bound refresh token is refused over another certificate or none, and /userinfo takes its access token only over its certificate", async () => {
    // The browser signs in at the issuer's listener; the app redeems the code over its certificate.
    const verifier = randomBytes(32).toString('base64url');
    const params = new URLSearchParams({
      client_id: 'device-app',
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state: 'st',
      nonce: 'n',
    });
    const { location } = await signIn(new Browser(), `${plain}/authorize?${params}`, 'alice', ALICE_PASSWORD);
    const issued = await aliasToken(
      {
        grant_type: 'authorization_code',
        client_id: 'device-app',
        code: location.searchParams.get('code') as string,
        code_verifier: verifier,
        redirect_uri: REDIRECT,
      },
      registeredByKey,
    );
    expect(issued.status).toBe(200);
    const bound = { 'x5t#S256': thumbprintOf(registeredByKey) };
    expect(decodeJwt(issued.body.access_token as string).cnf).toEqual(bound);

    const refresh = (certificate: IssuedCertificate) =>
      aliasToken(
        {
          grant_type: 'refresh_token',
          client_id: 'device-app',
          refresh_token: issued.body.refresh_token as string,
        },
        certificate,
      );
    const stolen = await refresh(unregistered);
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('invalid_grant');
    const withoutCertificate = await fetch(`${plain}/token`, {
      method: 'POST',
      headers,
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: 'device-app',
        refresh_token: issued.body.refresh_token as string,
      }).toString(),
    });
    expect(withoutCertificate.status).toBe(400);
    // Left as it was: its holder still refreshes, and the successor is bound to the same certificate.
    const refreshed = await refresh(registeredByKey);
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(refreshed.body.access_token as string).cnf).toEqual(bound);
    const userinfo = (certificate?: IssuedCertificate) =>
      request(`${aliased.url}/userinfo`, {
        headers: { authorization: `Bearer ${refreshed.body.access_token}` },
        dispatcher: aliased.agent(certificate),
      });
    const own = await userinfo(registeredByKey);
    expect(own.statusCode).toBe(200);
    await own.body.dump();
    for (const other of [unregistered, undefined]) {
      const refused = await userinfo(other);
      expect(refused.statusCode).toBe(401);
      expect(refused.headers['www-authenticate']).toMatch(/error="invalid_token"/);
      await refused.body.dump();
    }
  });
});
