import { KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { beforeAll, describe, expect, it } from 'vitest';
import { b64, craft, header as headerFor, json, signBytes } from '../../../test/support/craft.js';
import {
  checkDpopBinding,
  createAccessTokenVerifier,
  createDpopProofVerifier,
  type DpopErrorCode,
  DpopNonces,
  DpopProofSigner,
  type DpopProofVerifier,
  type DpopReplayStore,
  KeySet,
  normalizeHtu,
  refuseBoundBearer,
  type SigningKey,
  sha256Base64url,
} from '../src/index.js';
import { generateSigningKey } from '../src/keys/signing-key.js';
import { audience, issuer, validClaims } from './helpers/claims.js';

// The proof checks of RFC 9449 4.3, one refusal per rule, on proofs we sign ourselves, proofs
// oauth4webapi signs, and proofs crafted to break one rule each. The replay record is the one
// atomic operation of a KeyValueStore; the stores themselves are tested in @tessera/storage, and
// the resource tests run these proofs over Redis shared by two instances (docs/security.md C139,
// C140, C146).

/** compareAndSet(key, null, ...) as the stores do it: set when absent (no expiry needed here). */
class SetOnce implements DpopReplayStore {
  readonly keys = new Map<string, number | undefined>();
  async compareAndSet(
    key: string,
    expected: string | null,
    _next: string,
    options: { readonly ttlMs: number | undefined },
  ) {
    if (expected !== null || this.keys.has(key)) return false;
    this.keys.set(key, options.ttlMs);
    return true;
  }
}

const URL_ = 'https://api.example/orders/42';
const nowMs = Date.UTC(2030, 0, 1);
const nowS = nowMs / 1000;
const now = () => nowMs;

let ed: SigningKey;
let es: SigningKey;
let rs: SigningKey;
let signer: DpopProofSigner;
let store: SetOnce;
let verifier: DpopProofVerifier;

beforeAll(async () => {
  ed = await generateSigningKey('EdDSA');
  es = await generateSigningKey('ES256');
  rs = await generateSigningKey('RS256');
  signer = new DpopProofSigner(ed, { now });
});

function fresh(options: Partial<Parameters<typeof createDpopProofVerifier>[0]> = {}): DpopProofVerifier {
  store = new SetOnce();
  verifier = createDpopProofVerifier({ replay: store, now, ...options });
  return verifier;
}

function publicJwk(key: SigningKey): Record<string, unknown> {
  const { kid: _kid, alg: _alg, use: _use, ...jwk } = key.publicJwk;
  return jwk;
}

/** A proof of `key` with the header and claims given over the valid ones. */
function proofOf(
  key: SigningKey,
  header: Record<string, unknown> = {},
  claims: Record<string, unknown> = {},
): string {
  return craft(
    key,
    { typ: 'dpop+jwt', alg: key.alg, jwk: publicJwk(key), ...header },
    { jti: `jti-${Math.random()}`, htm: 'GET', htu: URL_, iat: nowS, ...claims },
  );
}

async function refusal(proof: unknown, request: Record<string, unknown> = {}): Promise<unknown> {
  try {
    await verifier.verify({ proof: proof as string, method: 'GET', url: URL_, ...request });
  } catch (error) {
    return error;
  }
  return undefined;
}

async function expectRefused(
  code: DpopErrorCode,
  proof: unknown,
  request: Record<string, unknown> = {},
): Promise<void> {
  const error = await refusal(proof, request);
  expect(error, `expected ${code}`).toMatchObject({ code, status: 401 });
  const expected = code === 'ERR_DPOP_NONCE_REQUIRED' ? 'use_dpop_nonce' : 'invalid_dpop_proof';
  expect((error as { oauthError: string }).oauthError).toBe(expected);
}

describe('DPoP proofs we sign', () => {
  it.each(['EdDSA', 'ES256', 'RS256'] as const)(
    'verify with %s, naming the key by its thumbprint',
    async (alg) => {
      const key = { EdDSA: () => ed, ES256: () => es, RS256: () => rs }[alg]();
      const own = new DpopProofSigner(key, { now });
      fresh({ algorithms: ['EdDSA', 'ES256', 'RS256'] });
      const proof = own.proof({ method: 'POST', url: 'https://API.example:443/token?x=1#f' });
      const verified = await verifier.verify({ proof, method: 'POST', url: 'https://api.example/token' });
      expect(verified.jkt).toBe(await calculateJwkThumbprint(await exportJWK(key.publicKey), 'sha256'));
      expect(verified.jkt).toBe(own.jkt);
      expect(verified.alg).toBe(alg);
      const header = JSON.parse(Buffer.from(proof.split('.')[0] as string, 'base64url').toString());
      expect(header).toEqual({ typ: 'dpop+jwt', alg, jwk: publicJwk(key) });
      const claims = JSON.parse(Buffer.from(proof.split('.')[1] as string, 'base64url').toString());
      expect(claims.htu).toBe('https://api.example/token');
      expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    },
  );

  it('carry ath and nonce when asked', async () => {
    fresh();
    const proof = signer.proof({ method: 'GET', url: URL_, accessToken: 'the-token', nonce: 'n-1' });
    const claims = JSON.parse(Buffer.from(proof.split('.')[1] as string, 'base64url').toString());
    expect(claims.ath).toBe(sha256Base64url('the-token'));
    expect(claims.nonce).toBe('n-1');
    await expect(
      verifier.verify({
        proof,
        method: 'GET',
        url: URL_,
        accessToken: 'the-token',
        acceptsNonce: (nonce) => nonce === 'n-1',
      }),
    ).resolves.toMatchObject({ jkt: signer.jkt });
  });

  it('records the jti for the window, so a second use is refused', async () => {
    fresh({ window: 30 });
    const proof = signer.proof({ method: 'GET', url: URL_ });
    await verifier.verify({ proof, method: 'GET', url: URL_ });
    const [[key, ttl]] = [...store.keys.entries()] as [[string, number]];
    expect(key.startsWith('dpop:')).toBe(true);
    expect(ttl).toBeGreaterThanOrEqual(30_000);
    expect(ttl).toBeLessThanOrEqual(32_000);
    await expectRefused('ERR_DPOP_REPLAYED', proof);
  });
});

describe('DPoP proofs oauth4webapi signs', () => {
  it.each(['ES256', 'EdDSA'] as const)('verify (%s)', async (alg) => {
    fresh();
    const keyPair = await oauth.generateKeyPair(alg);
    const handle = oauth.DPoP({}, keyPair);
    const headers = new Headers();
    // What the library attaches to a resource request: the proof for this method, URL and token.
    await oauth.protectedResourceRequest('at-123', 'PUT', new URL(URL_), headers, null, {
      DPoP: handle,
      [oauth.customFetch]: async (_url, init) => {
        const proof = new Headers(init.headers).get('dpop');
        const verified = await createDpopProofVerifier({ replay: new SetOnce() }).verify({
          proof: proof ?? undefined,
          method: 'PUT',
          url: URL_,
          accessToken: 'at-123',
        });
        expect(verified.jkt).toBe(await handle.calculateThumbprint());
        return new Response('{}', { status: 200 });
      },
    });
  });
});

describe('DPoP proofs refused (RFC 9449 4.3)', () => {
  beforeAll(() => {
    fresh();
  });

  it('no proof, two proofs, an oversized or malformed one', async () => {
    await expectRefused('ERR_DPOP_PROOF_MISSING', undefined);
    await expectRefused('ERR_DPOP_PROOF_MISSING', '');
    await expectRefused('ERR_DPOP_PROOF_MALFORMED', [proofOf(ed), proofOf(ed)]);
    await expectRefused('ERR_DPOP_PROOF_MALFORMED', `${proofOf(ed)}, ${proofOf(ed)}`);
    await expectRefused('ERR_DPOP_PROOF_MALFORMED', 'a.b');
    await expectRefused('ERR_DPOP_PROOF_MALFORMED', `${json([1])}.${json({})}.${b64('x')}`);
    await expectRefused('ERR_DPOP_PROOF_MALFORMED', `${proofOf(ed)}${'A'.repeat(9000)}`);
    await expectRefused('ERR_DPOP_PROOF_MALFORMED', proofOf(ed, { crit: ['exp'] }));
  });

  it('a typ other than dpop+jwt', async () => {
    await expectRefused('ERR_DPOP_TYP_INVALID', proofOf(ed, { typ: 'JWT' }));
    await expectRefused('ERR_DPOP_TYP_INVALID', proofOf(ed, { typ: undefined }));
  });

  it('alg none, HS256, RS256 by default, or an alg that does not fit the key', async () => {
    const unsigned = `${json({ typ: 'dpop+jwt', alg: 'none', jwk: publicJwk(ed) })}.${json({ jti: 'j', htm: 'GET', htu: URL_, iat: nowS })}.`;
    await expectRefused('ERR_DPOP_ALG_NOT_ALLOWED', unsigned);
    await expectRefused('ERR_DPOP_ALG_NOT_ALLOWED', proofOf(ed, { alg: 'HS256' }));
    await expectRefused('ERR_DPOP_ALG_NOT_ALLOWED', proofOf(rs));
    await expectRefused('ERR_DPOP_ALG_NOT_ALLOWED', proofOf(ed, { alg: 'ES256' }));
  });

  it('no jwk, a jwk with private members, a symmetric or unusable jwk', async () => {
    await expectRefused('ERR_DPOP_JWK_INVALID', proofOf(ed, { jwk: undefined }));
    const privateJwk = await exportJWK(KeyObject.from(ed.privateKey));
    await expectRefused('ERR_DPOP_JWK_INVALID', proofOf(ed, { jwk: privateJwk }));
    await expectRefused('ERR_DPOP_JWK_INVALID', proofOf(ed, { jwk: { kty: 'oct', k: 'c2VjcmV0' } }));
    await expectRefused(
      'ERR_DPOP_JWK_INVALID',
      proofOf(ed, { jwk: { kty: 'OKP', crv: 'Ed25519', x: 'AA' } }),
    );
  });

  it('a signature by another key than the jwk, or an altered payload', async () => {
    await expectRefused(
      'ERR_DPOP_SIGNATURE_INVALID',
      proofOf(ed, { jwk: publicJwk(es), alg: 'ES256' }).replace(
        /\.[^.]+$/,
        `.${b64(signBytes(await generateSigningKey('ES256'), 'x'))}`,
      ),
    );
    const [header, , signature] = proofOf(ed).split('.');
    const other = json({ jti: 'j2', htm: 'GET', htu: URL_, iat: nowS });
    await expectRefused('ERR_DPOP_SIGNATURE_INVALID', `${header}.${other}.${signature}`);
  });

  it('C150: a signature in a non-canonical or empty base64url spelling', async () => {
    const proof = proofOf(ed);
    const last = proof.at(-1) as string;
    // 64 bytes are 86 characters, the last of which carries 4 bits no byte uses: another spelling.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = `${proof.slice(0, -1)}${alphabet[alphabet.indexOf(last) ^ 1]}`;
    await expectRefused('ERR_DPOP_SIGNATURE_INVALID', respelled);
    await expectRefused('ERR_DPOP_SIGNATURE_INVALID', proof.replace(/\.[^.]+$/, '.'));
    await expect(verifier.verify({ proof, method: 'GET', url: URL_ })).resolves.toMatchObject({
      jkt: signer.jkt,
    });
  });

  it('C150: a header seen before is taken from the cache only as sent, its key with its algorithm', async () => {
    fresh({ algorithms: ['EdDSA', 'ES256'] });
    const other = await generateSigningKey('EdDSA');
    const first = await verifier.verify({ proof: proofOf(ed), method: 'GET', url: URL_ });
    // The same key with members the thumbprint leaves out: the same key, the same thumbprint.
    const decorated = proofOf(ed, { jwk: { ...publicJwk(ed), kid: 'k', alg: 'EdDSA', use: 'sig' } });
    await expect(verifier.verify({ proof: decorated, method: 'GET', url: URL_ })).resolves.toMatchObject({
      jkt: first.jkt,
    });
    // Another key of the same type: imported on its own, its own thumbprint.
    const second = await verifier.verify({ proof: proofOf(other), method: 'GET', url: URL_ });
    expect(second.jkt).toBe(await calculateJwkThumbprint(await exportJWK(other.publicKey), 'sha256'));
    expect(second.jkt).not.toBe(first.jkt);
    // A cached key signs nothing for another: ed's header with other's signature fails.
    const [header, payload] = proofOf(ed).split('.');
    const forged = `${header}.${payload}.${b64(signBytes(other, `${header}.${payload}`))}`;
    await expectRefused('ERR_DPOP_SIGNATURE_INVALID', forged);
    // The key's alg is kept with it: a cached EdDSA key under ES256 is still refused.
    await expectRefused('ERR_DPOP_ALG_NOT_ALLOWED', proofOf(ed, { alg: 'ES256' }));
    await expectRefused('ERR_DPOP_JWK_INVALID', proofOf(ed, { jwk: { ...publicJwk(ed), x: 7 } }));
  });

  it('a claim missing or of the wrong type', async () => {
    await expectRefused('ERR_DPOP_CLAIM_INVALID', proofOf(ed, {}, { jti: undefined }));
    await expectRefused('ERR_DPOP_CLAIM_INVALID', proofOf(ed, {}, { jti: 'x'.repeat(300) }));
    await expectRefused('ERR_DPOP_CLAIM_INVALID', proofOf(ed, {}, { htm: undefined }));
    await expectRefused('ERR_DPOP_CLAIM_INVALID', proofOf(ed, {}, { htu: 42 }));
    await expectRefused('ERR_DPOP_CLAIM_INVALID', proofOf(ed, {}, { iat: '2030' }));
  });

  it('another method or another URL', async () => {
    await expectRefused('ERR_DPOP_METHOD_MISMATCH', proofOf(ed, {}, { htm: 'POST' }));
    await expectRefused('ERR_DPOP_METHOD_MISMATCH', proofOf(ed, {}, { htm: 'get' }));
    await expectRefused('ERR_DPOP_URL_MISMATCH', proofOf(ed, {}, { htu: 'https://api.example/orders/43' }));
    await expectRefused('ERR_DPOP_URL_MISMATCH', proofOf(ed, {}, { htu: 'http://api.example/orders/42' }));
    await expectRefused(
      'ERR_DPOP_URL_MISMATCH',
      proofOf(ed, {}, { htu: 'https://api.example:8443/orders/42' }),
    );
    await expectRefused('ERR_DPOP_URL_MISMATCH', proofOf(ed, {}, { htu: 'https://evil.example/orders/42' }));
    await expectRefused('ERR_DPOP_URL_MISMATCH', proofOf(ed, {}, { htu: 'not a url' }));
  });

  it('iat outside the window, before or after now', async () => {
    await expectRefused('ERR_DPOP_IAT_OUT_OF_WINDOW', proofOf(ed, {}, { iat: nowS - 61 }));
    await expectRefused('ERR_DPOP_IAT_OUT_OF_WINDOW', proofOf(ed, {}, { iat: nowS + 61 }));
    await expect(
      verifier.verify({ proof: proofOf(ed, {}, { iat: nowS - 59 }), method: 'GET', url: URL_ }),
    ).resolves.toBeDefined();
  });

  it('ath missing or of another token', async () => {
    await expectRefused('ERR_DPOP_ATH_MISMATCH', proofOf(ed), { accessToken: 'tok' });
    await expectRefused('ERR_DPOP_ATH_MISMATCH', proofOf(ed, {}, { ath: sha256Base64url('other') }), {
      accessToken: 'tok',
    });
  });

  it('no nonce, or one no longer accepted, when the server asks for nonces', async () => {
    const acceptsNonce = (nonce: string) => nonce === 'current';
    await expectRefused('ERR_DPOP_NONCE_REQUIRED', proofOf(ed), { acceptsNonce });
    await expectRefused('ERR_DPOP_NONCE_REQUIRED', proofOf(ed, {}, { nonce: 'old' }), { acceptsNonce });
  });

  it('uses no jti up when refused for anything else', async () => {
    const proof = proofOf(ed, {}, { jti: 'kept' });
    await expectRefused('ERR_DPOP_METHOD_MISMATCH', proof, { method: 'DELETE' });
    await expect(verifier.verify({ proof, method: 'GET', url: URL_ })).resolves.toMatchObject({
      jti: 'kept',
    });
  });

  it('never echoes the proof in a message', async () => {
    const proof = proofOf(ed, {}, { htm: 'POST' });
    const error = (await refusal(proof)) as Error;
    expect(error.message).not.toContain(proof.slice(0, 30));
  });
});

describe('normalizeHtu (RFC 9449 4.3, RFC 3986 6.2.2-6.2.3)', () => {
  it.each([
    ['HTTPS://API.Example:443/a/./b/../c?q=1#frag', 'https://api.example/a/c'],
    ['http://api.example:80', 'http://api.example/'],
    ['http://api.example:8080/x', 'http://api.example:8080/x'],
    ['https://api.example/%7euser/%2f', 'https://api.example/~user/%2F'],
  ])('%s -> %s', (input, output) => {
    expect(normalizeHtu(input)).toBe(output);
  });

  it.each(['/relative', 'ftp://api.example/', 'https://user:pw@api.example/', ''])(
    '%s -> undefined',
    (input) => {
      expect(normalizeHtu(input)).toBeUndefined();
    },
  );
});

describe('DpopNonces', () => {
  it('accepts the current nonce and the last one, and no other', () => {
    let clock = Date.UTC(2030, 0, 1);
    const secret = new Uint8Array(32).fill(7);
    const nonces = new DpopNonces({ secret, lifetime: 60, now: () => clock });
    const first = nonces.current();
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(nonces.accepts(first)).toBe(true);
    clock += 60_000;
    const second = nonces.current();
    expect(second).not.toBe(first);
    expect(nonces.accepts(first)).toBe(true);
    clock += 60_000;
    expect(nonces.accepts(first)).toBe(false);
    expect(nonces.accepts(second)).toBe(true);
    // Another instance with the same secret agrees; one with another secret does not.
    expect(new DpopNonces({ secret, lifetime: 60, now: () => clock }).current()).toBe(nonces.current());
    const other = new DpopNonces({ secret: new Uint8Array(32).fill(8), lifetime: 60, now: () => clock });
    expect(other.accepts(nonces.current())).toBe(false);
  });

  it('refuses a short secret', () => {
    expect(() => new DpopNonces({ secret: new Uint8Array(16) })).toThrow(/32 bytes/);
  });
});

describe('a token bound to a key (cnf.jkt, RFC 9449 6)', () => {
  let keys: KeySet;
  beforeAll(async () => {
    keys = await KeySet.generate(['EdDSA']);
  });

  const verifierOf = () => createAccessTokenVerifier({ issuer, audience, keys, now });

  it('exposes its binding, checked against the proof and refused as bearer', async () => {
    const key = keys.activeKey('EdDSA');
    const token = craft(key, headerFor(key), validClaims(nowS, { cnf: { jkt: signer.jkt } }));
    const principal = verifierOf().verifySync(token);
    expect(principal.binding).toEqual({ type: 'dpop', jkt: signer.jkt });
    const proof = { jkt: signer.jkt, jti: 'j', iat: nowS, alg: 'EdDSA' as const };
    expect(() => checkDpopBinding(principal, proof)).not.toThrow();
    expect(() => checkDpopBinding(principal, { ...proof, jkt: 'x'.repeat(43) })).toThrow(
      expect.objectContaining({ code: 'ERR_DPOP_KEY_MISMATCH', oauthError: 'invalid_token' }),
    );
    expect(() => refuseBoundBearer(principal)).toThrow(
      expect.objectContaining({ code: 'ERR_DPOP_BOUND_TOKEN_AS_BEARER', oauthError: 'invalid_token' }),
    );
    const unbound = verifierOf().verifySync(craft(key, headerFor(key), validClaims(nowS)));
    expect(unbound.binding).toBeUndefined();
    expect(() => refuseBoundBearer(unbound)).not.toThrow();
    expect(() => checkDpopBinding(unbound, proof)).toThrow(
      expect.objectContaining({ code: 'ERR_DPOP_TOKEN_NOT_BOUND' }),
    );
  });

  it.each([
    ['a string', 'abc'],
    ['no jkt', {}],
    ['a short jkt', { jkt: 'abc' }],
    ['another confirmation method too', { jkt: 'x'.repeat(43), 'x5t#S256': 'y'.repeat(43) }],
  ])('refuses a cnf that is %s', (_name, cnf) => {
    const key = keys.activeKey('EdDSA');
    const token = craft(key, headerFor(key), validClaims(nowS, { cnf }));
    expect(() => verifierOf().verifySync(token)).toThrow(
      expect.objectContaining({ code: 'ERR_JWT_CLAIM_INVALID' }),
    );
  });
});
