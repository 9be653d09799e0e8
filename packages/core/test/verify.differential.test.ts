import fc from 'fast-check';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { b64, json, signParts } from '../../../test/support/craft.js';
import {
  type AccessTokenVerifier,
  createAccessTokenVerifier,
  generateSigningKey,
  KeySet,
  type SigningAlgorithm,
  type SigningKey,
} from '../src/index.js';
import { audience, issuer, validClaims } from './helpers/claims.js';

// Whatever our verify accepts, jose's jwtVerify (with the same rules) must accept too; so
// everything jose rejects, we reject. We may be stricter (kid required, jku refused, iat in the
// future refused, ...); we must never be looser.

const algs: SigningAlgorithm[] = ['EdDSA', 'ES256', 'RS256'];
const nowMs = Date.UTC(2030, 0, 1);
const now = nowMs / 1000;
const tolerance = 30;

let keys: KeySet;
let stranger: SigningKey;
let ours: AccessTokenVerifier;
let jwks: ReturnType<typeof createLocalJWKSet>;

beforeAll(async () => {
  keys = await KeySet.generate(algs);
  stranger = await generateSigningKey('EdDSA');
  ours = createAccessTokenVerifier({ issuer, audience, keys, algorithms: algs, now: () => nowMs });
  jwks = createLocalJWKSet(keys.jwks());
});

function oursAccepts(token: string): boolean {
  try {
    ours.verifySync(token);
    return true;
  } catch (error) {
    // Only our own coded errors count as a rejection; anything else is a crash and fails the test.
    expect(error).toHaveProperty('code');
    return false;
  }
}

async function joseAccepts(token: string): Promise<boolean> {
  try {
    await jwtVerify(token, jwks, {
      issuer,
      audience,
      algorithms: algs,
      typ: 'at+jwt',
      clockTolerance: tolerance,
      currentDate: new Date(nowMs),
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'],
    });
    return true;
  } catch {
    return false;
  }
}

// Mostly values one step from valid (the edges where verifiers disagree), some arbitrary JSON.
const interesting = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'none',
      'None',
      'HS256',
      'EdDSA',
      'ES256',
      'RS256',
      'ES384',
      'at+jwt',
      'AT+JWT',
      'application/at+jwt',
      'JWT',
      issuer,
      `${issuer}/`,
      issuer.toUpperCase(),
      audience,
      'payments',
      '',
      null,
      true,
      false,
    ),
  },
  { weight: 3, arbitrary: fc.integer({ min: now - 400, max: now + 400 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      now - 31,
      now - 30,
      now - 29,
      now + 29,
      now + 30,
      now + 31,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1.5,
    ),
  },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(audience, 'payments', 1), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

const headerNames = ['alg', 'typ', 'kid', 'crit', 'b64', 'jku', 'jwk', 'x5c', 'x5u', 'cty', 'zip', 'extra'];
const claimNames = [
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'client_id',
  'scope',
  'act',
  'sid',
  'auth_time',
];

type ObjectEdit = { readonly target: 'header' | 'payload'; readonly name: string; readonly value?: unknown };

// Per claim, values on both sides of its own rule, so each rule is probed where it bites.
const edges = [
  -tolerance - 2,
  -tolerance - 1,
  -tolerance,
  -tolerance + 1,
  tolerance - 1,
  tolerance,
  tolerance + 1,
  tolerance + 2,
];
const nearNow = fc.oneof(
  fc.constantFrom(...edges.map((d) => now + d)),
  fc.integer({ min: now - 2 * tolerance - 10, max: now + 2 * tolerance + 10 }),
);
const claimValue: Record<string, fc.Arbitrary<unknown>> = {
  exp: fc.oneof({ weight: 4, arbitrary: nearNow }, { weight: 1, arbitrary: interesting }),
  iat: fc.oneof({ weight: 4, arbitrary: nearNow }, { weight: 1, arbitrary: interesting }),
  nbf: fc.oneof({ weight: 4, arbitrary: nearNow }, { weight: 1, arbitrary: interesting }),
  iss: fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom(issuer, `${issuer}/`, issuer.toUpperCase(), 'https://evil.test', [issuer]),
    },
    { weight: 1, arbitrary: interesting },
  ),
  aud: fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        audience,
        'Orders',
        'payments',
        [audience],
        ['payments'],
        [],
        [audience, 1],
        '',
      ),
    },
    { weight: 1, arbitrary: interesting },
  ),
};
const payloadEdit = fc.constantFrom(...claimNames).chain((name) =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: (claimValue[name] ?? interesting).map(
        (value): ObjectEdit => ({ target: 'payload', name, value }),
      ),
    },
    { weight: 1, arbitrary: fc.constant<ObjectEdit>({ target: 'payload', name }) },
  ),
);
const headerEdit = fc
  .constantFrom(...headerNames)
  .chain((name) =>
    fc.oneof(
      { weight: 4, arbitrary: interesting.map((value): ObjectEdit => ({ target: 'header', name, value })) },
      { weight: 1, arbitrary: fc.constant<ObjectEdit>({ target: 'header', name }) },
    ),
  );
const objectEdit: fc.Arbitrary<ObjectEdit> = fc.oneof(
  { weight: 3, arbitrary: payloadEdit },
  { weight: 2, arbitrary: headerEdit },
);

type StringEdit =
  | { readonly kind: 'flip-bit'; readonly part: number; readonly at: number; readonly bit: number }
  | { readonly kind: 'replace-char'; readonly at: number; readonly char: string }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'append'; readonly text: string }
  | { readonly kind: 'permute'; readonly order: readonly number[] }
  | { readonly kind: 'pad'; readonly part: number }
  | { readonly kind: 'transplant-signature' };

const stringEdit: fc.Arbitrary<StringEdit> = fc.oneof(
  fc.record({
    kind: fc.constant('flip-bit' as const),
    part: fc.integer({ min: 0, max: 2 }),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    kind: fc.constant('replace-char' as const),
    at: fc.nat(),
    char: fc.constantFrom('.', '=', '+', '/', ' ', 'A', '_', '-', 'é', '\n', '%'),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('append' as const),
    text: fc.constantFrom('.', '=', 'A', 'AA', '..', '.e30'),
  }),
  fc.record({
    kind: fc.constant('permute' as const),
    order: fc.shuffledSubarray([0, 1, 2], { minLength: 1 }),
  }),
  fc.record({ kind: fc.constant('pad' as const), part: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('transplant-signature' as const) }),
);

type Signer = 'own' | 'other-alg' | 'stranger';

interface Case {
  readonly objectEdits: readonly ObjectEdit[];
  readonly signer: Signer;
  readonly stringEdits: readonly StringEdit[];
}

// Mostly one defect at a time, so a check that is missing on our side cannot hide behind
// another defect that both verifiers refuse anyway.
const caseArb: fc.Arbitrary<Case> = fc.record({
  objectEdits: fc.oneof(
    { weight: 1, arbitrary: fc.constant([]) },
    { weight: 6, arbitrary: fc.array(objectEdit, { minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.array(objectEdit, { minLength: 2, maxLength: 3 }) },
  ),
  signer: fc.constantFrom<Signer>('own', 'own', 'own', 'own', 'own', 'own', 'other-alg', 'stranger'),
  stringEdits: fc.oneof(
    { weight: 3, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.array(stringEdit, { minLength: 1, maxLength: 2 }) },
  ),
});

function applyString(token: string, edit: StringEdit, other: string): string {
  const parts = token.split('.');
  switch (edit.kind) {
    case 'flip-bit': {
      const part = parts[edit.part % parts.length] ?? '';
      const bytes = Buffer.from(part, 'base64url');
      if (bytes.length === 0) return token;
      const at = edit.at % bytes.length;
      bytes[at] = (bytes[at] ?? 0) ^ (1 << edit.bit);
      parts[edit.part % parts.length] = bytes.toString('base64url');
      return parts.join('.');
    }
    case 'replace-char': {
      const at = edit.at % token.length;
      return token.slice(0, at) + edit.char + token.slice(at + 1);
    }
    case 'truncate':
      return token.slice(0, edit.at % (token.length + 1));
    case 'append':
      return token + edit.text;
    case 'permute':
      return edit.order.map((i) => parts[i] ?? '').join('.');
    case 'pad': {
      const i = edit.part % parts.length;
      const part = parts[i] ?? '';
      parts[i] = Buffer.from(part, 'base64url').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
      return parts.join('.');
    }
    case 'transplant-signature':
      return `${parts.slice(0, 2).join('.')}.${other.split('.')[2] ?? ''}`;
  }
}

function build(alg: SigningAlgorithm, c: Case): string {
  const key = keys.activeKey(alg);
  const header: Record<string, unknown> = { alg, typ: 'at+jwt', kid: key.kid };
  const payload: Record<string, unknown> = validClaims(now, { sid: 'sid-1', act: { sub: 'gateway' } });
  for (const edit of c.objectEdits) {
    const target = edit.target === 'header' ? header : payload;
    if ('value' in edit) target[edit.name] = edit.value;
    else delete target[edit.name];
  }
  const signer =
    c.signer === 'own'
      ? key
      : c.signer === 'stranger'
        ? stranger
        : keys.activeKey(alg === 'EdDSA' ? 'ES256' : 'EdDSA');
  // JSON.stringify turns 1e400 into null; write it by hand so the edge reaches both verifiers.
  const encode = (value: Record<string, unknown>) =>
    b64(
      JSON.stringify(value, (_k, v) =>
        v === Number.POSITIVE_INFINITY ? '__inf__' : v === Number.NEGATIVE_INFINITY ? '__-inf__' : v,
      )
        .replace(/"__inf__"/g, '1e400')
        .replace(/"__-inf__"/g, '-1e400'),
    );
  let token = signParts(signer, encode(header), encode(payload));
  const other = signParts(signer, json({ ...header, extra: 1 }), json(payload));
  for (const edit of c.stringEdits) token = applyString(token, edit, other);
  return token;
}

describe.each(algs)('differential against jose (%s)', (alg) => {
  it('never accepts what jose rejects', async () => {
    const tally = { both: 0, joseOnly: 0, neither: 0 };
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const token = build(alg, c);
        const a = oursAccepts(token);
        const b = await joseAccepts(token);
        if (a && b) tally.both++;
        else if (b) tally.joseOnly++;
        else if (!a) tally.neither++;
        expect(a && !b, `ours accepted what jose rejected: ${token}`).toBe(false);
      }),
      { numRuns: alg === 'RS256' ? 600 : 1500 },
    );
    // The run is only meaningful if it exercised both sides of the boundary.
    expect(tally.both).toBeGreaterThan(10);
    expect(tally.neither).toBeGreaterThan(10);
  });

  it('accepts the unmutated tokens jose accepts, with random claims', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          sub: fc.string({ minLength: 1 }),
          client_id: fc.string({ minLength: 1 }),
          jti: fc.string({ minLength: 1 }),
          scope: fc.string(),
          exp: fc.integer({ min: now - 29, max: now + 86_400 }),
          iat: fc.integer({ min: now - 86_400, max: now + 30 }),
        }),
        async (claims) => {
          const key = keys.activeKey(alg);
          const token = signParts(
            key,
            json({ alg, typ: 'at+jwt', kid: key.kid }),
            json(validClaims(now, claims)),
          );
          expect(await joseAccepts(token)).toBe(true);
          expect(oursAccepts(token)).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });
});
