import { createHmac, KeyObject, sign } from 'node:crypto';
import { generateSigningKey, type SigningKey, type TokenErrorCode } from '@tessera/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, craft, header, json, parts, signParts, twinOf } from '../../../test/support/craft.js';
import { type FakeIssuer, startIssuer } from '../../../test/support/issuer.js';
import { predicate, requireDelegation } from '../src/authorize/policy.js';
import { bearer } from '../src/identity/bearer.js';
import { isUserPrincipal } from '../src/principal.js';
import { DenyList } from '../src/revocation/deny-list.js';
import { createVerifier } from '../src/verify/verifier.js';
import { claims } from './support/claims.js';
import { rawGet } from './support/raw.js';
import { type Answer, bearerHeader, call, startService } from './support/service.js';

// docs/security.md C52-71, F 84/85/88, G 89-91: every token is sent to a Fastify service protected
// by this library, through real HTTP, with keys from a JWKS served over node:http.

const p256n = Buffer.from('FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551', 'hex');

let issuer: FakeIssuer;
let ed: SigningKey;
let es: SigningKey;
let service: { url: string; logs: string[]; app: { close(): Promise<unknown> } };
let denyList: DenyList;
let nowS: number;
const sentTokens: string[] = [];

beforeAll(async () => {
  issuer = await startIssuer(['EdDSA', 'ES256']);
  ed = issuer.keys.activeKey('EdDSA');
  es = issuer.keys.activeKey('ES256');
  denyList = new DenyList({ issuer: issuer.url });
  const verifier = await createVerifier({ issuer: issuer.url, audience: 'orders', revocations: denyList });
  service = await startService(bearer(verifier), {
    extra(app) {
      app.get(
        '/users-only',
        { config: { auth: { policy: predicate(isUserPrincipal, 'a user is required') } } },
        async () => ({ ok: true }),
      );
      app.get(
        '/via-gateway',
        { config: { auth: { policy: requireDelegation({ via: ['gateway'] }) } } },
        async () => ({ ok: true }),
      );
    },
  });
  nowS = Math.floor(Date.now() / 1000);
});

afterAll(async () => {
  await service?.app.close();
  await issuer?.close();
});

function good(extra: Record<string, unknown> = {}, key: SigningKey = ed): string {
  return craft(key, header(key), claims(issuer.url, nowS, extra));
}

async function send(token: string, path = '/orders'): Promise<Answer> {
  sentTokens.push(token);
  return call(`${service.url}${path}`, bearerHeader(token));
}

async function expectInvalid(token: string, code: TokenErrorCode | 'ERR_TOKEN_REVOKED'): Promise<void> {
  const answer = await send(token);
  expect(answer.status).toBe(401);
  expect(answer.headers.get('www-authenticate')).toMatch(
    /^Bearer error="invalid_token", error_description="[^"]*"$/,
  );
  expect(answer.body).toMatchObject({ error: 'invalid_token', code });
  expect(answer.text).not.toContain(token.slice(0, 40));
  expect(answer.text).not.toMatch(/at .*\.(js|ts):\d+/);
}

describe('the control', () => {
  it('a valid token is served', async () => {
    const answer = await send(good());
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ sub: 'alice', client: 'web' });
  });
});

describe('C 52-56: algorithm and key confusion', () => {
  it.each(['none', 'None', 'noNE'])('C 52: alg %s, with or without a signature', async (alg) => {
    const unsigned = `${json({ alg, typ: 'at+jwt', kid: ed.kid })}.${json(claims(issuer.url, nowS))}`;
    await expectInvalid(`${unsigned}.`, 'ERR_JWS_ALG_NONE');
    await expectInvalid(`${unsigned}.${parts(good())[2]}`, 'ERR_JWS_ALG_NONE');
  });

  it('C 53: re-signed with HS256 using the public key as the secret', async () => {
    for (const secret of [
      ed.publicKey.export({ format: 'pem', type: 'spki' }),
      JSON.stringify(ed.publicJwk),
    ]) {
      const input = `${json({ alg: 'HS256', typ: 'at+jwt', kid: ed.kid })}.${json(claims(issuer.url, nowS))}`;
      await expectInvalid(
        `${input}.${b64(createHmac('sha256', secret).update(input).digest())}`,
        'ERR_JWS_ALG_HMAC',
      );
    }
  });

  it('C 54: an alg outside the allow-list, or not the one bound to the key', async () => {
    const rsa = await generateSigningKey('RS256');
    await expectInvalid(
      craft(rsa, { alg: 'RS256', typ: 'at+jwt', kid: ed.kid }, claims(issuer.url, nowS)),
      'ERR_JWS_ALG_NOT_ALLOWED',
    );
    await expectInvalid(
      craft(es, { alg: 'ES256', typ: 'at+jwt', kid: ed.kid }, claims(issuer.url, nowS)),
      'ERR_JWS_ALG_NOT_ALLOWED',
    );
    const input = `${json({ alg: 'PS256', typ: 'at+jwt', kid: ed.kid })}.${json(claims(issuer.url, nowS))}`;
    await expectInvalid(`${input}.${parts(good())[2]}`, 'ERR_JWS_ALG_NOT_ALLOWED');
  });

  it('C 55: ES256 signatures of zeros, r or s >= n, DER-encoded, of the wrong length', async () => {
    const token = good({}, es);
    const [h, p, s] = parts(token);
    const sig = Buffer.from(s, 'base64url');
    const der = sign('sha256', Buffer.from(`${h}.${p}`), {
      key: KeyObject.from(es.privateKey),
      dsaEncoding: 'der',
    });
    for (const bad of [
      Buffer.alloc(64),
      Buffer.concat([p256n, sig.subarray(32)]),
      Buffer.concat([sig.subarray(0, 32), p256n]),
      der,
      sig.subarray(0, 63),
      Buffer.concat([sig, Buffer.alloc(1)]),
    ]) {
      await expectInvalid(`${h}.${p}.${b64(bad)}`, 'ERR_JWS_SIGNATURE_INVALID');
    }
  });

  it("C 56: an embedded jwk carrying the attacker's key is not used", async () => {
    const attacker = await generateSigningKey('EdDSA');
    await expectInvalid(
      craft(
        attacker,
        { alg: 'EdDSA', typ: 'at+jwt', kid: attacker.kid, jwk: attacker.publicJwk },
        claims(issuer.url, nowS),
      ),
      'ERR_JWS_HEADER_UNTRUSTED',
    );
  });
});

describe('C 57-60: header parameters', () => {
  it('C 57: jku or x5u are never fetched', async () => {
    const before = issuer.jwksHits;
    await expectInvalid(
      craft(ed, header(ed, { jku: `${issuer.url}/jwks` }), claims(issuer.url, nowS)),
      'ERR_JWS_HEADER_UNTRUSTED',
    );
    await expectInvalid(
      craft(ed, header(ed, { x5u: `${issuer.url}/jwks` }), claims(issuer.url, nowS)),
      'ERR_JWS_HEADER_UNTRUSTED',
    );
    expect(issuer.jwksHits).toBe(before);
  });

  it('C 58: kid as a path, SQL, 10 kB, or not a string: 401 and no lookup beyond the key set', async () => {
    for (const kid of ['../../dev/null', "' OR '1'='1' --"]) {
      await expectInvalid(
        craft(ed, header(ed, { kid }), claims(issuer.url, nowS)),
        'ERR_JWKS_NO_MATCHING_KEY',
      );
    }
    await expectInvalid(
      craft(ed, header(ed, { kid: 'k'.repeat(10_000) }), claims(issuer.url, nowS)),
      'ERR_JWT_TOO_LARGE',
    );
    await expectInvalid(
      craft(ed, header(ed, { kid: 'k'.repeat(300) }), claims(issuer.url, nowS)),
      'ERR_JWS_KID_INVALID',
    );
    for (const kid of [42, null, ['a'], { a: 1 }]) {
      await expectInvalid(craft(ed, header(ed, { kid }), claims(issuer.url, nowS)), 'ERR_JWS_KID_INVALID');
    }
  });

  it('C 59: crit naming an unknown extension, empty, or duplicated', async () => {
    for (const crit of [['exp'], [], ['b64', 'b64']]) {
      await expectInvalid(
        craft(ed, header(ed, { crit }), claims(issuer.url, nowS)),
        'ERR_JWS_CRIT_UNSUPPORTED',
      );
    }
  });

  it('C 60: b64 false', async () => {
    await expectInvalid(
      craft(ed, header(ed, { b64: false, crit: ['b64'] }), claims(issuer.url, nowS)),
      'ERR_JWS_CRIT_UNSUPPORTED',
    );
    await expectInvalid(
      craft(ed, header(ed, { b64: false }), claims(issuer.url, nowS)),
      'ERR_JWS_CRIT_UNSUPPORTED',
    );
  });
});

describe('C 61-65: claims and integrity', () => {
  it('C 61: typ missing or not at+jwt (ID token, logout token, client assertion)', async () => {
    const { typ: _typ, ...noTyp } = header(ed);
    await expectInvalid(craft(ed, noTyp, claims(issuer.url, nowS)), 'ERR_JWT_TYP_INVALID');
    for (const typ of ['JWT', 'logout+jwt', 'client-authentication+jwt']) {
      await expectInvalid(craft(ed, header(ed, { typ }), claims(issuer.url, nowS)), 'ERR_JWT_TYP_INVALID');
    }
  });

  it('C 62: iss with a trailing slash or another case', async () => {
    await expectInvalid(good({ iss: `${issuer.url}/` }), 'ERR_JWT_ISSUER_INVALID');
    await expectInvalid(good({ iss: issuer.url.toUpperCase() }), 'ERR_JWT_ISSUER_INVALID');
  });

  it("C 63 / G 89: aud missing, another service's, or an array without this service", async () => {
    const { aud: _aud, ...noAud } = claims(issuer.url, nowS);
    const missing = await send(craft(ed, header(ed), noAud));
    expect(missing.status).toBe(401);
    expect(missing.body.error).toBe('invalid_token');
    await expectInvalid(good({ aud: 'payments' }), 'ERR_JWT_AUDIENCE_INVALID');
    await expectInvalid(good({ aud: ['payments', 'inventory'] }), 'ERR_JWT_AUDIENCE_INVALID');
  });

  it('C 64: exp past or absent; nbf or iat in the future', async () => {
    await expectInvalid(good({ exp: nowS - 60 }), 'ERR_JWT_EXPIRED');
    const { exp: _exp, ...noExp } = claims(issuer.url, nowS);
    await expectInvalid(craft(ed, header(ed), noExp), 'ERR_JWT_CLAIM_INVALID');
    await expectInvalid(good({ nbf: nowS + 120 }), 'ERR_JWT_NOT_YET_VALID');
    await expectInvalid(good({ iat: nowS + 120 }), 'ERR_JWT_NOT_YET_VALID');
  });

  it('C 65: a payload edited without re-signing, or the signature stripped', async () => {
    const [h, , s] = parts(good());
    await expectInvalid(
      `${h}.${json(claims(issuer.url, nowS, { scope: 'orders:write admin' }))}.${s}`,
      'ERR_JWS_SIGNATURE_INVALID',
    );
    const [h2, p2] = parts(good());
    await expectInvalid(`${h2}.${p2}.`, 'ERR_JWS_SIGNATURE_INVALID');
  });
});

describe('C 66-68: encoding', () => {
  it('C 66: a JWE, JSON serialization, characters outside the JWS alphabet', async () => {
    const [h, p, s] = parts(good());
    await expectInvalid(
      `${json({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.${p}.${h}.${s}.${p}`,
      'ERR_JWT_MALFORMED',
    );
    const jsonSerialization = JSON.stringify({ payload: p, protected: h, signature: s });
    await expectInvalid(jsonSerialization, 'ERR_JWT_MALFORMED');
    await expectInvalid(`${h}.${p}.${s}~`, 'ERR_JWT_MALFORMED');
    await expectInvalid(`${h}.${p}+.${s}`, 'ERR_JWT_MALFORMED');
  });

  it('C 67: a header or payload that is not a JSON object, not UTF-8, or bad base64url', async () => {
    const payload = json(claims(issuer.url, nowS));
    for (const bad of [
      b64('["EdDSA"]'),
      b64('{alg:EdDSA}'),
      b64(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])),
    ]) {
      await expectInvalid(signParts(ed, bad, payload), 'ERR_JWT_MALFORMED');
    }
    for (const bad of [
      b64('null'),
      b64('{"sub":'),
      b64(Buffer.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d])),
    ]) {
      await expectInvalid(signParts(ed, json(header(ed)), bad), 'ERR_JWT_MALFORMED');
    }
    const [h, p, s] = parts(good());
    await expectInvalid(`${h}A.${p}.${s}`, 'ERR_JWT_MALFORMED');
  });

  it('another spelling of a valid token: = padding, or a last character with unused bits set', async () => {
    const token = good({ jti: 'spelt-twice' });
    const [h, p, s] = parts(token);
    // A payload of 4n+2 or 4n+3 characters, so it has unused bits to set; re-signed as sent.
    let pad = '';
    while (json(claims(issuer.url, nowS, { pad })).length % 4 === 0) pad += 'x';
    const payload = json(claims(issuer.url, nowS, { pad }));
    expect((await send(token)).status).toBe(200);
    expect((await send(signParts(ed, h, payload))).status).toBe(200);
    for (const spelling of [
      `${token}==`,
      `${token}=`,
      `${h}.${p}.${twinOf(s)}`,
      signParts(ed, h, twinOf(payload)),
      signParts(ed, `${h}${'='.repeat((4 - (h.length % 4)) % 4) || '===='}`, p),
    ]) {
      await expectInvalid(spelling, 'ERR_JWT_MALFORMED');
    }
  });

  it('C 68: a huge token, thousands of dots', async () => {
    await expectInvalid(good({ pad: 'x'.repeat(9000) }), 'ERR_JWT_TOO_LARGE');
    await expectInvalid('.'.repeat(5000), 'ERR_JWT_MALFORMED');
  });
});

describe('C 69 and RFC 6750 answers; F 84, 85, 88', () => {
  it('no credentials: 401 with a bare Bearer challenge and no error code', async () => {
    for (const init of [{}, { headers: { authorization: 'Basic YWxpY2U6cHc=' } }]) {
      const answer = await call(`${service.url}/orders`, init);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expect(answer.body.error).toBeUndefined();
      expect(answer.body.code).toBe('ERR_AUTH_REQUIRED');
    }
  });

  it('missing scope: 403 insufficient_scope naming the scope', async () => {
    const answer = await call(`${service.url}/orders`, { method: 'POST', ...bearerHeader(good()) });
    expect(answer.status).toBe(403);
    expect(answer.headers.get('www-authenticate')).toMatch(
      /^Bearer error="insufficient_scope", .*scope="orders:write"$/,
    );
    expect(answer.body).toMatchObject({ error: 'insufficient_scope', code: 'ERR_AUTH_INSUFFICIENT_SCOPE' });
    const allowed = await call(`${service.url}/orders`, {
      method: 'POST',
      ...bearerHeader(good({ scope: 'orders:write' })),
    });
    expect(allowed.status).toBe(200);
  });

  it('F 88: bearer in any case is accepted', async () => {
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const answer = await call(`${service.url}/orders`, {
        headers: { authorization: `${scheme} ${good()}` },
      });
      expect(answer.status).toBe(200);
    }
  });

  it('F 88: an empty token, several tokens, characters outside b64token: 401 invalid_token', async () => {
    const token = good();
    for (const value of [
      'Bearer',
      'Bearer ',
      `Bearer ${token} ${token}`,
      `Bearer ${token},${token}`,
      `Bearer ${token}"`,
      'Bearer ä',
    ]) {
      const answer = await rawGet(`${service.url}/orders`, { authorization: value });
      expect(answer.status, value.slice(0, 12)).toBe(401);
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
      expect(answer.text).not.toContain(token.slice(0, 40));
    }
  });

  it('F 84: two Authorization headers, or a token in the header and the query: 400 invalid_request', async () => {
    const token = good();
    const twice = await rawGet(`${service.url}/orders`, {
      authorization: [`Bearer ${token}`, `Bearer ${token}`],
    });
    expect(twice.status).toBe(400);
    expect(twice.headers['www-authenticate']).toMatch(/^Bearer error="invalid_request"/);
    const both = await call(`${service.url}/orders?access_token=${token}`, bearerHeader(token));
    expect(both.status).toBe(400);
    expect(both.body).toMatchObject({ error: 'invalid_request', code: 'ERR_AUTH_INVALID_REQUEST' });
  });

  it('F 85: access_token in the query string is not accepted', async () => {
    const answer = await call(`${service.url}/orders?access_token=${good()}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_request');
    expect(answer.text).not.toContain(good().slice(0, 40));
  });

  it('a public route stays public', async () => {
    expect((await call(`${service.url}/health`)).status).toBe(200);
  });
});

describe('C 70, C 71: revocation keys on claims; clients and users told apart', () => {
  it('C 70: a revoked ES256 token re-sent as (r, n-s) is still refused', async () => {
    const token = good({ jti: 'jti-70' }, es);
    expect((await send(token)).status).toBe(200);
    denyList.add({ kind: 'jti', value: 'jti-70', until: nowS + 300 });
    await expectInvalid(token, 'ERR_TOKEN_REVOKED');
    const [h, p, s] = parts(token);
    const sig = Buffer.from(s, 'base64url');
    const n = BigInt(`0x${p256n.toString('hex')}`);
    const highS = (n - BigInt(`0x${sig.subarray(32).toString('hex')}`)).toString(16).padStart(64, '0');
    const twin = `${h}.${p}.${b64(Buffer.concat([sig.subarray(0, 32), Buffer.from(highS, 'hex')]))}`;
    expect(twin).not.toBe(token);
    await expectInvalid(twin, 'ERR_TOKEN_REVOKED');
    // The same jti from another issuer is another token: the list keys on iss + jti.
    expect(denyList.match({ ...fakePrincipal('jti-70'), issuer: 'https://other.example' })).toBeUndefined();
  });

  it('C 71: a client whose client_id equals a user sub: revoking the user spares the client, and back', async () => {
    const clientToken = craft(ed, header(ed), {
      ...claims(issuer.url, nowS, { sub: 'bob', client_id: 'bob', jti: 'jti-71c' }),
      auth_time: undefined,
    });
    const userToken = good({ sub: 'bob', jti: 'jti-71u' });
    expect((await send(clientToken, '/users-only')).status).toBe(403);
    expect((await send(userToken, '/users-only')).status).toBe(200);
    denyList.add({ kind: 'sub', value: 'bob', until: nowS + 300 });
    await expectInvalid(userToken, 'ERR_TOKEN_REVOKED');
    expect((await send(clientToken)).status).toBe(200);
  });
});

describe('G 90, G 91', () => {
  it('G 90: a policy may require an actor; decisions use the top-level claims and the current actor', async () => {
    const viaGateway = good({ act: { sub: 'gateway', act: { sub: 'edge' } } });
    expect((await send(viaGateway, '/via-gateway')).status).toBe(200);
    const deeper = good({ act: { sub: 'edge', act: { sub: 'gateway' } } });
    expect((await send(deeper, '/via-gateway')).status).toBe(403);
    expect((await send(good(), '/via-gateway')).status).toBe(403);
  });

  it('G 91: no token sent in this file appears in the service log', () => {
    expect(service.logs.length).toBeGreaterThan(0);
    const log = service.logs.join('\n');
    for (const token of sentTokens) {
      const signature = parts(token)[2];
      if (signature !== undefined && signature.length > 20) expect(log).not.toContain(signature);
    }
  });
});

function fakePrincipal(jti: string) {
  return {
    subject: 'alice',
    clientId: 'web',
    scopes: [],
    audience: ['orders'],
    issuer: issuer.url,
    tokenId: jti,
    expiresAt: nowS + 300,
    issuedAt: nowS,
    actors: [],
    claims: {},
  };
}

// The verified-token cache answers a token seen before without the header's syntax check (a hit
// is exactly a string that passed it): the header around a cached token must still be checked.
describe('F 84, 85, 88 with the verified-token cache holding the token', () => {
  let cached: { url: string; app: { close(): Promise<unknown> } };
  let token: string;

  beforeAll(async () => {
    const verifier = await createVerifier({ issuer: issuer.url, audience: 'orders', cache: true });
    cached = await startService(bearer(verifier));
    token = good({ jti: 'cached-once' });
    expect((await call(`${cached.url}/orders`, bearerHeader(token))).status).toBe(200);
    expect((await call(`${cached.url}/orders`, bearerHeader(token))).status).toBe(200);
  });

  afterAll(async () => {
    await cached?.app.close();
  });

  it('a header that is more than `Bearer <that token>` is refused: 401 invalid_token', async () => {
    for (const value of [
      `Bearer ${token} ${token}`,
      `Bearer ${token},${token}`,
      `Bearer ${token}"`,
      `Bearer x${token}`,
    ]) {
      const answer = await rawGet(`${cached.url}/orders`, { authorization: value });
      expect(answer.status, JSON.stringify(value.slice(-3))).toBe(401);
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    }
  });

  it('the same token twice in two headers, or also in the query: 400 invalid_request', async () => {
    const twice = await rawGet(`${cached.url}/orders`, {
      authorization: [`Bearer ${token}`, `Bearer ${token}`],
    });
    expect(twice.status).toBe(400);
    const both = await call(`${cached.url}/orders?access_token=${token}`, bearerHeader(token));
    expect(both.status).toBe(400);
  });

  it('another spelling of the cached token (padding, unused bits set) is not a hit: 401', async () => {
    const [h, p, s] = parts(token);
    for (const spelling of [`${token}==`, `${h}.${p}.${twinOf(s)}`]) {
      const answer = await call(`${cached.url}/orders`, bearerHeader(spelling));
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ error: 'invalid_token', code: 'ERR_JWT_MALFORMED' });
    }
  });

  it('other spellings of the scheme and spacing still reach it the long way', async () => {
    for (const value of [`bearer ${token}`, `BEARER ${token}`, `Bearer   ${token}`]) {
      expect((await rawGet(`${cached.url}/orders`, { authorization: value })).status).toBe(200);
    }
  });
});
