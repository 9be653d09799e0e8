import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createAccessTokenVerifier,
  freezePrincipal,
  KeySet,
  type SigningAlgorithm,
  signAccessToken,
  TesseraTypeError,
  verifyAccessToken,
  verifyAccessTokenSync,
} from '../src/index.js';
import { hasScopes } from '../src/principal.js';
import { audience, issuer } from './helpers/claims.js';

const now = Date.UTC(2030, 5, 1, 12, 0, 0);
const clock = () => now;
const algs: SigningAlgorithm[] = ['EdDSA', 'ES256', 'RS256'];
let keys: KeySet;

beforeAll(async () => {
  keys = await KeySet.generate(algs);
});

describe('sign then verify (docs/security.md H95)', () => {
  it.each(algs)('round-trips %s, and jose agrees with the token', async (alg) => {
    const token = await signAccessToken(
      keys,
      {
        subject: 'user-7',
        clientId: 'web',
        audience: ['orders', 'payments'],
        scopes: ['orders:read', 'payments:write'],
        sessionId: 'sid-1',
        authTime: now / 1000 - 100,
      },
      { issuer, alg, now: clock },
    );
    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ alg, typ: 'at+jwt', kid: keys.activeKey(alg).kid });

    const principal = verifyAccessTokenSync(token, {
      issuer,
      audience: 'payments',
      keys,
      algorithms: algs,
      now: clock,
    });
    expect(principal).toMatchObject({
      subject: 'user-7',
      clientId: 'web',
      scopes: ['orders:read', 'payments:write'],
      audience: ['orders', 'payments'],
      issuer,
      expiresAt: now / 1000 + 300,
      issuedAt: now / 1000,
      sessionId: 'sid-1',
      authTime: now / 1000 - 100,
      actors: [],
    });
    expect(principal.tokenId).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(principal.claims.scope).toBe('orders:read payments:write');
    expect(Object.isFrozen(principal.scopes)).toBe(true);
    expect(Object.isFrozen(principal.actors)).toBe(true);
    // Shared principals (a cache) are frozen once, deeply.
    const shared = freezePrincipal(principal);
    expect(Object.isFrozen(shared)).toBe(true);
    expect(Object.isFrozen(shared.claims)).toBe(true);
    expect(hasScopes(principal, 'orders:read')).toBe(true);
    expect(hasScopes(principal, 'admin')).toBe(false);

    const { payload } = await jwtVerify(token, createLocalJWKSet(keys.jwks()), {
      issuer,
      audience: 'payments',
      typ: 'at+jwt',
      currentDate: new Date(now),
    });
    expect(payload.sub).toBe('user-7');
  });

  it('defaults to EdDSA, a 5 minute lifetime and distinct 128-bit jtis', async () => {
    const verifier = createAccessTokenVerifier({ issuer, audience, keys, now: clock });
    const claims = { subject: 's', clientId: 'c', audience };
    const a = verifier.verifySync(await signAccessToken(keys, claims, { issuer, now: clock }));
    const b = verifier.verifySync(await signAccessToken(keys, claims, { issuer, now: clock }));
    expect(a.expiresAt - a.issuedAt).toBe(300);
    expect(a.tokenId).not.toBe(b.tokenId);
    expect(Buffer.from(a.tokenId, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(a.scopes).toEqual([]);
    expect(a).not.toHaveProperty('sessionId');
    expect(a).not.toHaveProperty('authTime');
  });

  it('unrolls nested act into the delegation chain, current actor first (RFC 8693 4.1)', async () => {
    const token = await signAccessToken(
      keys,
      {
        subject: 'user-7',
        clientId: 'orders',
        audience: 'payments',
        actors: [{ subject: 'orders', clientId: 'orders-svc' }, { subject: 'gateway' }],
      },
      { issuer, now: clock },
    );
    const principal = verifyAccessTokenSync(token, { issuer, audience: 'payments', keys, now: clock });
    expect(principal.claims.act).toEqual({ sub: 'orders', client_id: 'orders-svc', act: { sub: 'gateway' } });
    expect(principal.actors).toEqual([{ subject: 'orders', clientId: 'orders-svc' }, { subject: 'gateway' }]);
  });

  it('accepts a token within the clock tolerance and refuses it beyond', async () => {
    const token = await signAccessToken(
      keys,
      { subject: 's', clientId: 'c', audience },
      { issuer, now: clock },
    );
    const at = (ms: number) => createAccessTokenVerifier({ issuer, audience, keys, now: () => ms });
    expect(at(now + 329_000).verifySync(token).subject).toBe('s');
    expect(() => at(now + 330_000).verifySync(token)).toThrow(
      expect.objectContaining({ code: 'ERR_JWT_EXPIRED' }),
    );
    expect(at(now - 30_000).verifySync(token).subject).toBe('s');
  });

  it('verifies asynchronously with the same rules', async () => {
    const token = await signAccessToken(
      keys,
      { subject: 's', clientId: 'c', audience },
      { issuer, now: clock },
    );
    const options = { issuer, audience, keys, now: clock };
    await expect(verifyAccessToken(token, options)).resolves.toMatchObject({ subject: 's' });
    await expect(verifyAccessToken(`${token}.x`, options)).rejects.toMatchObject({
      code: 'ERR_JWT_MALFORMED',
    });
  });

  it('refuses RS256 unless the allow-list names it', async () => {
    const token = await signAccessToken(
      keys,
      { subject: 's', clientId: 'c', audience },
      { issuer, alg: 'RS256', now: clock },
    );
    expect(() => verifyAccessTokenSync(token, { issuer, audience, keys, now: clock })).toThrow(
      expect.objectContaining({ code: 'ERR_JWS_ALG_NOT_ALLOWED' }),
    );
  });
});

describe('verifier options', () => {
  const base = () => ({ issuer, audience, keys });
  it.each([
    ['clockTolerance above 60 s', { clockTolerance: 61 }],
    ['negative clockTolerance', { clockTolerance: -1 }],
    ['an HMAC algorithm', { algorithms: ['HS256'] }],
    ['no algorithm', { algorithms: [] }],
    ['an empty issuer', { issuer: '' }],
    ['an empty audience list', { audience: [] }],
    ['keys without get', { keys: {} }],
    ['a zero maxTokenLength', { maxTokenLength: 0 }],
  ])('refuses %s at construction', (_name, override) => {
    expect(() => createAccessTokenVerifier({ ...base(), ...override } as never)).toThrow(TesseraTypeError);
  });

  it('accepts clockTolerance 60', () => {
    expect(() => createAccessTokenVerifier({ ...base(), clockTolerance: 60 })).not.toThrow();
  });
});

describe('signing input checks', () => {
  it.each([
    ['an empty subject', { subject: '', clientId: 'c', audience }],
    ['an empty audience', { subject: 's', clientId: 'c', audience: [] }],
    ['a scope with a space', { subject: 's', clientId: 'c', audience, scopes: ['a b'] }],
  ])('refuses %s', async (_name, claims) => {
    await expect(signAccessToken(keys, claims, { issuer })).rejects.toBeInstanceOf(TesseraTypeError);
  });
});
