import { createHmac, KeyObject, sign } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { b64, craft, header as headerFor, json, signParts } from '../../../test/support/craft.js';
import {
  type AccessTokenVerifier,
  createAccessTokenVerifier,
  type KeySet,
  type SigningKey,
  signAccessToken,
  type TokenErrorCode,
  tokenErrorCodes,
} from '../src/index.js';
import { KeySet as KeySetClass } from '../src/keys/key-set.js';
import { generateSigningKey } from '../src/keys/signing-key.js';
import { audience, issuer, validClaims } from './helpers/claims.js';

const nowMs = Date.UTC(2030, 0, 1);
const now = nowMs / 1000;
const p256n = Buffer.from('FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551', 'hex');

let keys: KeySet;
let ed: SigningKey;
let es: SigningKey;
let verifier: AccessTokenVerifier;
let good: { ed: string; es: string };

beforeAll(async () => {
  keys = await KeySetClass.generate(['EdDSA', 'ES256', 'RS256']);
  ed = keys.activeKey('EdDSA');
  es = keys.activeKey('ES256');
  verifier = createAccessTokenVerifier({ issuer, audience, keys, now: () => nowMs });
  good = { ed: craft(ed, headerFor(ed), validClaims(now)), es: craft(es, headerFor(es), validClaims(now)) };
});

function expectCode(token: unknown, code: TokenErrorCode, v: AccessTokenVerifier = verifier): void {
  let thrown: unknown;
  try {
    v.verifySync(token as string);
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected ${code}`).toMatchObject({ code, status: 401 });
  // The message must not echo the token back.
  if (typeof token === 'string' && token.length > 20) {
    expect((thrown as Error).message).not.toContain(token.slice(0, 20));
  }
}

const parts = (token: string) => token.split('.') as [string, string, string];

/** The token with `text` inserted in the middle of part `index` (0 header, 1 payload, 2 signature). */
function insertIn(token: string, index: 0 | 1 | 2, text: string): string {
  const all = parts(token);
  const part = all[index];
  const at = 4 * Math.floor(part.length / 8);
  all[index] = `${part.slice(0, at)}${text}${part.slice(at)}`;
  return all.join('.');
}

/**
 * The token with one character of a part replaced by the character 0x100 above it: Node's
 * base64url decoder and a latin1 write keep only the low byte, so unchecked it would read the same.
 */
function widenIn(token: string, index: 0 | 1 | 2): string {
  const all = parts(token);
  const part = all[index];
  const at = Math.floor(part.length / 2);
  all[index] = `${part.slice(0, at)}${String.fromCharCode(0x100 | part.charCodeAt(at))}${part.slice(at + 1)}`;
  return all.join('.');
}

describe('a control token', () => {
  it('verifies, so every rejection below is due to its one defect', () => {
    expect(verifier.verifySync(good.ed).subject).toBe('user-1');
    expect(verifier.verifySync(good.es).subject).toBe('user-1');
  });
});

describe('alg', () => {
  it.each(['none', 'None', 'noNE', 'NONE'])('refuses alg %s (unsigned) with ERR_JWS_ALG_NONE', (alg) => {
    expectCode(`${json({ alg, typ: 'at+jwt', kid: ed.kid })}.${json(validClaims(now))}.`, 'ERR_JWS_ALG_NONE');
  });

  it('refuses alg none even with a signature attached', () => {
    const [, , sig] = parts(good.ed);
    expectCode(
      `${json({ alg: 'none', typ: 'at+jwt', kid: ed.kid })}.${json(validClaims(now))}.${sig}`,
      'ERR_JWS_ALG_NONE',
    );
  });

  it.each(['HS256', 'HS384', 'hs512'])(
    'refuses %s signed with the public key bytes as the secret (key confusion)',
    (alg) => {
      const secret = es.publicKey.export({ format: 'pem', type: 'spki' });
      const input = `${json({ alg, typ: 'at+jwt', kid: es.kid })}.${json(validClaims(now))}`;
      const mac = createHmac('sha256', secret).update(input).digest();
      expectCode(`${input}.${b64(mac)}`, 'ERR_JWS_ALG_HMAC');
    },
  );

  it.each(['ES384', 'PS256', 'RS256', 'Ed25519', 'eddsa', 'ES256K'])(
    'refuses %s outside the allow-list',
    (alg) => {
      expectCode(craft(ed, headerFor(ed, { alg }), validClaims(now)), 'ERR_JWS_ALG_NOT_ALLOWED');
    },
  );

  it('refuses a missing or non-string alg', () => {
    const { alg: _alg, ...header } = headerFor(ed);
    expectCode(craft(ed, header, validClaims(now)), 'ERR_JWS_ALG_NOT_ALLOWED');
    expectCode(craft(ed, headerFor(ed, { alg: ['EdDSA'] }), validClaims(now)), 'ERR_JWS_ALG_NOT_ALLOWED');
  });

  it('refuses an allowed alg that is not the one bound to the key the kid names', () => {
    // ES256 header, EdDSA key's kid: the signature is checked with no other key than the one found.
    expectCode(craft(es, headerFor(es, { kid: ed.kid }), validClaims(now)), 'ERR_JWS_ALG_NOT_ALLOWED');
  });
});

describe('header parameters', () => {
  it.each([
    ['jku', 'https://attacker.example/jwks.json'],
    ['x5u', 'https://attacker.example/cert.pem'],
    ['jwk', { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }],
    ['x5c', ['MIIB']],
  ])('refuses a %s header (never fetched, never trusted)', (name, value) => {
    expectCode(craft(ed, headerFor(ed, { [name]: value }), validClaims(now)), 'ERR_JWS_HEADER_UNTRUSTED');
  });

  it.each([
    ['crit with a claim', { crit: ['exp'] }],
    ['an empty crit', { crit: [] }],
    ['a crit string', { crit: 'b64' }],
    ['b64 false', { b64: false, crit: ['b64'] }],
    ['b64 false alone', { b64: false }],
    ['b64 true', { b64: true }],
  ])('refuses %s', (_name, extra) => {
    expectCode(craft(ed, headerFor(ed, extra), validClaims(now)), 'ERR_JWS_CRIT_UNSUPPORTED');
  });
});

describe('kid', () => {
  it("refuses kid '../../dev/null' as unknown: a kid is only ever a map key", () => {
    expectCode(
      craft(ed, headerFor(ed, { kid: '../../dev/null' }), validClaims(now)),
      'ERR_JWKS_NO_MATCHING_KEY',
    );
  });

  it('refuses an unknown kid', async () => {
    const stranger = await generateSigningKey('EdDSA');
    expectCode(craft(stranger, headerFor(stranger), validClaims(now)), 'ERR_JWKS_NO_MATCHING_KEY');
  });

  it('refuses a 10 kB kid (over the size limit, and as a kid when the limit is raised)', () => {
    const token = craft(ed, headerFor(ed, { kid: 'k'.repeat(10_000) }), validClaims(now));
    expectCode(token, 'ERR_JWT_TOO_LARGE');
    const roomy = createAccessTokenVerifier({
      issuer,
      audience,
      keys,
      now: () => nowMs,
      maxTokenLength: 65_536,
    });
    expectCode(token, 'ERR_JWS_KID_INVALID', roomy);
  });

  it.each([
    ['numeric', 42],
    ['empty', ''],
    ['null', null],
    ['an object', { id: 'x' }],
  ])('refuses a %s kid', (_name, kid) => {
    expectCode(craft(ed, headerFor(ed, { kid }), validClaims(now)), 'ERR_JWS_KID_INVALID');
  });

  it('refuses a missing kid', () => {
    const { kid: _kid, ...header } = headerFor(ed);
    expectCode(craft(ed, header, validClaims(now)), 'ERR_JWS_KID_INVALID');
  });
});

describe('typ', () => {
  it.each([
    ['JWT', 'JWT'],
    ['application/jwt', 'application/jwt'],
    ['a number', 1],
    ['at+jwt with a different prefix', 'text/at+jwt'],
  ])('refuses typ %s', (_name, typ) => {
    expectCode(craft(ed, headerFor(ed, { typ }), validClaims(now)), 'ERR_JWT_TYP_INVALID');
  });

  it('refuses a missing typ', () => {
    const { typ: _typ, ...header } = headerFor(ed);
    expectCode(craft(ed, header, validClaims(now)), 'ERR_JWT_TYP_INVALID');
  });

  it.each(['AT+JWT', 'application/at+jwt', 'Application/AT+JWT'])(
    'accepts typ %s (case-insensitive)',
    (typ) => {
      expect(verifier.verifySync(craft(ed, headerFor(ed, { typ }), validClaims(now))).subject).toBe('user-1');
    },
  );
});

describe('shape and encoding', () => {
  it('refuses a token over 8 KiB before any other work', () => {
    expectCode(`${'a'.repeat(8193)}`, 'ERR_JWT_TOO_LARGE');
    const padded = craft(ed, headerFor(ed), validClaims(now, { pad: 'x'.repeat(8200) }));
    expectCode(padded, 'ERR_JWT_TOO_LARGE');
  });

  it('refuses thousands of dots', () => {
    expectCode('.'.repeat(5000), 'ERR_JWT_MALFORMED');
    expectCode('a.'.repeat(3000), 'ERR_JWT_MALFORMED');
    expectCode('.'.repeat(100_000), 'ERR_JWT_TOO_LARGE');
  });

  it('refuses a 5-part JWE', () => {
    const [h, p, s] = parts(good.ed);
    expectCode(`${json({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.${p}.${h}.${s}.${p}`, 'ERR_JWT_MALFORMED');
  });

  it.each([
    ['two parts', (t: string) => t.split('.').slice(0, 2).join('.')],
    ['four parts', (t: string) => `${t}.${parts(t)[2]}`],
    ['padding', (t: string) => t.replace('.', '=.')],
    ['padding at the end', (t: string) => `${t}==`],
    ['base64 + and /', (t: string) => t.replace(/-|_/, '+').replace(/[A-Za-z]/, '/')],
    ['whitespace', (t: string) => t.replace('.', ' .')],
    ['a newline', (t: string) => `${t}\n`],
    ['an empty header', (t: string) => `.${parts(t)[1]}.${parts(t)[2]}`],
    ['an empty payload', (t: string) => `${parts(t)[0]}..${parts(t)[2]}`],
    [
      'a header of length 4n+1',
      (t: string) =>
        `${parts(t)[0].slice(0, 4 * Math.floor(parts(t)[0].length / 4))}A.${parts(t)[1]}.${parts(t)[2]}`,
    ],
    ['non-ASCII letters', (t: string) => t.replace(/[A-Za-z]/, 'é')],
    // Node's base64url decoder skips whitespace and foreign characters and takes + and /: each part
    // is still refused on its own, so no other spelling of a token verifies (no malleability).
    ['a space inside the signature', (t: string) => insertIn(t, 2, '    ')],
    ['a space and a letter inside the signature', (t: string) => insertIn(t, 2, ' A')],
    ['a + in the signature', (t: string) => insertIn(t, 2, '+AAA')],
    ['= inside the signature', (t: string) => insertIn(t, 2, 'A===')],
    ['é inside the signature', (t: string) => insertIn(t, 2, 'éAAA')],
    ['a / in the payload', (t: string) => insertIn(t, 1, '/AAA')],
    ['a tab inside the payload', (t: string) => insertIn(t, 1, '\t\t\t\t')],
    ['a + in the header', (t: string) => insertIn(t, 0, '+AAA')],
    ['a letter of the payload written 0x100 above itself', (t: string) => widenIn(t, 1)],
    ['a letter of the signature written 0x100 above itself', (t: string) => widenIn(t, 2)],
    ['a letter of the header written 0x100 above itself', (t: string) => widenIn(t, 0)],
  ])('refuses %s', (_name, mutate) => {
    expectCode(mutate(good.ed), 'ERR_JWT_MALFORMED');
  });

  it.each([
    ['a number', 42],
    ['undefined', undefined],
    ['an object', { token: 'x' }],
  ])('refuses a token that is %s', (_name, token) => {
    expectCode(token, 'ERR_JWT_MALFORMED');
  });

  it.each([
    ['an array', b64('["EdDSA"]')],
    ['a string', b64('"at+jwt"')],
    ['a number', b64('1')],
    ['null', b64('null')],
    ['not JSON', b64('{alg:EdDSA}')],
    ['invalid UTF-8', b64(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]))],
  ])('refuses a header that is %s', (_name, header) => {
    expectCode(signParts(ed, header, json(validClaims(now))), 'ERR_JWT_MALFORMED');
  });

  it.each([
    ['an array', b64('[1,2]')],
    ['a string', b64('"sub"')],
    ['null', b64('null')],
    ['not JSON', b64('{"sub":')],
    [
      'invalid UTF-8',
      b64(Buffer.concat([Buffer.from('{"sub":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])),
    ],
    ['an overlong UTF-8 encoding', b64(Buffer.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]))],
    [
      'a UTF-16 surrogate encoded in UTF-8',
      b64(Buffer.concat([Buffer.from('{"sub":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])),
    ],
    [
      'UTF-8 behind a byte order mark',
      b64(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json(validClaims(now)), 'base64url')])),
    ],
    [
      'UTF-8 behind a byte order mark, holding U+FFFD (the strict decoding path)',
      b64(
        Buffer.concat([
          Buffer.from([0xef, 0xbb, 0xbf]),
          Buffer.from(JSON.stringify({ ...validClaims(now), name: '\uFFFD' })),
        ]),
      ),
    ],
  ])('refuses a validly signed payload that is %s', (_name, payload) => {
    expectCode(signParts(ed, json(headerFor(ed)), payload), 'ERR_JWT_MALFORMED');
  });

  it('accepts U+FFFD sent as a character, and other non-ASCII text, in a claim', () => {
    // U+FFFD is also what a lenient decoder writes for malformed bytes: sent as such it is valid.
    const claims = { ...validClaims(now), name: 'Zoë \uFFFD 名前 🔑' };
    const principal = verifier.verifySync(signParts(ed, json(headerFor(ed)), json(claims)));
    expect(principal.claims.name).toBe('Zoë \uFFFD 名前 🔑');
  });
});

describe('canonical base64url (docs/security.md C118)', () => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

  /** The part with its last character's lowest unused bit set: the same bytes to any decoder. */
  function twin(part: string): string {
    const value = alphabet.indexOf(part.slice(-1));
    const twinned = `${part.slice(0, -1)}${alphabet[value | 1]}`;
    expect(Buffer.from(twinned, 'base64url').equals(Buffer.from(part, 'base64url'))).toBe(true);
    return twinned;
  }
  const padded = (part: string) => part + '='.repeat((4 - (part.length % 4)) % 4);

  // A token whose header and payload parts are `length` mod 4 characters long (2 or 3: a part of
  // 4n characters has no unused bits), and a header and payload with the same defect, re-signed,
  // so only the encoding is wrong.
  function withParts(residue: 2 | 3): { header: string; payload: string } {
    const fitted = (make: (pad: string) => string) => {
      for (let pad = ''; ; pad += 'x') {
        const part = make(pad);
        if (part.length % 4 === residue) return part;
      }
    };
    return {
      header: fitted((pad) => json(headerFor(ed, { pad }))),
      payload: fitted((pad) => json(validClaims(now, { pad }))),
    };
  }

  it.each([2, 3] as const)('verifies the canonical parts of length 4n+%i (the control)', (residue) => {
    const { header, payload } = withParts(residue);
    expect(verifier.verifySync(signParts(ed, header, payload)).subject).toBe('user-1');
  });

  it.each([2, 3] as const)('refuses a header of length 4n+%i with unused bits set', (residue) => {
    const { header, payload } = withParts(residue);
    expectCode(signParts(ed, twin(header), payload), 'ERR_JWT_MALFORMED');
  });

  it.each([2, 3] as const)('refuses a payload of length 4n+%i with unused bits set', (residue) => {
    const { header, payload } = withParts(residue);
    expectCode(signParts(ed, header, twin(payload)), 'ERR_JWT_MALFORMED');
  });

  it.each([2, 3] as const)('refuses a header and a payload of length 4n+%i padded with =', (residue) => {
    const { header, payload } = withParts(residue);
    expectCode(signParts(ed, padded(header), payload), 'ERR_JWT_MALFORMED');
    expectCode(signParts(ed, header, padded(payload)), 'ERR_JWT_MALFORMED');
  });

  it.each([
    ['EdDSA', () => good.ed],
    ['ES256', () => good.es],
    ['RS256', () => craft(keys.activeKey('RS256'), headerFor(keys.activeKey('RS256')), validClaims(now))],
  ])('refuses an %s signature with unused bits set, or padded with =', (alg, token) => {
    const v =
      alg === 'RS256'
        ? createAccessTokenVerifier({ issuer, audience, keys, algorithms: ['RS256'], now: () => nowMs })
        : verifier;
    const [h, p, sig] = parts(token());
    expect(v.verifySync(`${h}.${p}.${sig}`).subject).toBe('user-1');
    expectCode(`${h}.${p}.${twin(sig)}`, 'ERR_JWT_MALFORMED', v);
    expectCode(`${h}.${p}.${padded(sig)}`, 'ERR_JWT_MALFORMED', v);
  });

  it('refuses a header it has already checked once it is spelt another way', () => {
    // The checked-header cache is keyed by the encoded header: its twin must not pass as a miss.
    const { header, payload } = withParts(2);
    expect(verifier.verifySync(signParts(ed, header, payload)).subject).toBe('user-1');
    expectCode(signParts(ed, twin(header), payload), 'ERR_JWT_MALFORMED');
  });
});

describe('signature', () => {
  function withSignature(token: string, signature: Uint8Array): string {
    const [h, p] = parts(token);
    return `${h}.${p}.${b64(signature)}`;
  }
  const esSig = () => Buffer.from(parts(good.es)[2], 'base64url');

  it.each([
    ['all zeros', () => Buffer.alloc(64)],
    ['r = n', () => Buffer.concat([p256n, esSig().subarray(32)])],
    ['s = n', () => Buffer.concat([esSig().subarray(0, 32), p256n])],
    ['r = 2^256 - 1', () => Buffer.concat([Buffer.alloc(32, 0xff), esSig().subarray(32)])],
    ['s = 2^256 - 1', () => Buffer.concat([esSig().subarray(0, 32), Buffer.alloc(32, 0xff)])],
    ['r = 0', () => Buffer.concat([Buffer.alloc(32), esSig().subarray(32)])],
    ['63 bytes', () => esSig().subarray(0, 63)],
    ['65 bytes', () => Buffer.concat([esSig(), Buffer.alloc(1)])],
    ['128 bytes', () => Buffer.concat([esSig(), esSig()])],
    [
      'DER-encoded',
      () => {
        const [h, p] = parts(good.es);
        return sign('sha256', Buffer.from(`${h}.${p}`), {
          key: KeyObject.from(es.privateKey),
          dsaEncoding: 'der',
        });
      },
    ],
  ])('refuses an ES256 signature that is %s', (_name, signature) => {
    expectCode(withSignature(good.es, signature()), 'ERR_JWS_SIGNATURE_INVALID');
  });

  it.each([
    ['all zeros', () => Buffer.alloc(64)],
    ['63 bytes', () => Buffer.from(parts(good.ed)[2], 'base64url').subarray(0, 63)],
  ])('refuses an EdDSA signature that is %s', (_name, signature) => {
    expectCode(withSignature(good.ed, signature()), 'ERR_JWS_SIGNATURE_INVALID');
  });

  it('refuses a stripped signature', () => {
    const [h, p] = parts(good.ed);
    expectCode(`${h}.${p}.`, 'ERR_JWS_SIGNATURE_INVALID');
  });

  it('refuses a payload edited without re-signing', () => {
    const [h, , s] = parts(good.ed);
    expectCode(`${h}.${json(validClaims(now, { sub: 'admin' }))}.${s}`, 'ERR_JWS_SIGNATURE_INVALID');
  });

  it('refuses a signature from another key that claims this kid', async () => {
    const impostor = await generateSigningKey('EdDSA');
    expectCode(craft(impostor, headerFor(ed), validClaims(now)), 'ERR_JWS_SIGNATURE_INVALID');
  });

  it('refuses a signature with one bit flipped', () => {
    const sig = Buffer.from(parts(good.ed)[2], 'base64url');
    sig[10] = (sig[10] ?? 0) ^ 1;
    expectCode(withSignature(good.ed, sig), 'ERR_JWS_SIGNATURE_INVALID');
  });
});

describe('claims', () => {
  const token = (claims: Record<string, unknown>) => craft(ed, headerFor(ed), claims);
  const without = (name: string) => {
    const claims = validClaims(now);
    delete claims[name];
    return token(claims);
  };

  it('refuses an expired token (beyond the 30 s tolerance), and exp exactly at the edge', () => {
    expectCode(token(validClaims(now, { exp: now - 31 })), 'ERR_JWT_EXPIRED');
    expectCode(token(validClaims(now, { exp: now - 30 })), 'ERR_JWT_EXPIRED');
    expect(verifier.verifySync(token(validClaims(now, { exp: now - 29 }))).subject).toBe('user-1');
  });

  it('refuses nbf or iat in the future beyond the tolerance', () => {
    expectCode(token(validClaims(now, { nbf: now + 31 })), 'ERR_JWT_NOT_YET_VALID');
    expectCode(token(validClaims(now, { iat: now + 31 })), 'ERR_JWT_NOT_YET_VALID');
    expect(verifier.verifySync(token(validClaims(now, { nbf: now + 30, iat: now + 30 }))).subject).toBe(
      'user-1',
    );
  });

  it.each([
    ['a trailing slash', `${issuer}/`],
    ['a different case', issuer.toUpperCase()],
    ['another issuer', 'https://evil.test'],
  ])('refuses iss with %s', (_name, iss) => {
    expectCode(token(validClaims(now, { iss })), 'ERR_JWT_ISSUER_INVALID');
  });

  it.each([
    ['another audience', 'payments'],
    ['an array without ours', ['payments', 'inventory']],
    ['an empty string', ''],
    ['ours with another case', 'Orders'],
  ])('refuses aud with %s', (_name, aud) => {
    expectCode(token(validClaims(now, { aud })), 'ERR_JWT_AUDIENCE_INVALID');
  });

  it('accepts aud as an array containing ours', () => {
    expect(verifier.verifySync(token(validClaims(now, { aud: ['payments', audience] }))).audience).toEqual([
      'payments',
      audience,
    ]);
  });

  it.each(['exp', 'iat', 'iss', 'aud', 'sub', 'client_id', 'jti'])('refuses a token without %s', (name) => {
    expectCode(without(name), 'ERR_JWT_CLAIM_INVALID');
  });

  it.each([
    ['exp as a string', { exp: String(now + 300) }],
    ['iat as a string', { iat: String(now) }],
    ['nbf as a string', { nbf: 'now' }],
    ['sub as a number', { sub: 7 }],
    ['an empty sub', { sub: '' }],
    ['client_id as null', { client_id: null }],
    ['jti as an object', { jti: {} }],
    ['iss as an array', { iss: [issuer] }],
    ['aud as an array with a number', { aud: [audience, 1] }],
    ['an empty aud array', { aud: [] }],
    ['aud as an object', { aud: { orders: true } }],
    ['scope as an array', { scope: ['orders:read'] }],
    ['sid as a number', { sid: 1 }],
    ['auth_time as a string', { auth_time: 'yesterday' }],
    ['act without sub', { act: { client_id: 'x' } }],
    ['act as a string', { act: 'orders' }],
    ['nested act with a bad sub', { act: { sub: 'a', act: { sub: 1 } } }],
  ])('refuses %s', (_name, extra) => {
    expectCode(token(validClaims(now, extra)), 'ERR_JWT_CLAIM_INVALID');
  });

  it('refuses an act chain nested deeper than 16', () => {
    let act: Record<string, unknown> = { sub: 'last' };
    for (let i = 0; i < 20; i++) act = { sub: `hop-${i}`, act };
    expectCode(token(validClaims(now, { act })), 'ERR_JWT_CLAIM_INVALID');
  });
});

describe('the registry of token codes', () => {
  it('gives every code a status and a meaning, and only the JWKS outage is not a 401', async () => {
    const { TokenError } = await import('../src/index.js');
    for (const code of Object.keys(tokenErrorCodes) as TokenErrorCode[]) {
      const error = new TokenError(code);
      expect(error.message).toBe(tokenErrorCodes[code].meaning);
      expect(error.status).toBe(code === 'ERR_JWKS_FETCH_FAILED' ? 503 : 401);
      expect(tokenErrorCodes[code].status).toBe(error.status);
    }
  });

  it('signs tokens only with keys the verifier can find', async () => {
    const other = new KeySetClass().add(await generateSigningKey(), 'active');
    expectCode(
      await signAccessToken(other, { subject: 's', clientId: 'c', audience }, { issuer }),
      'ERR_JWKS_NO_MATCHING_KEY',
    );
  });
});
