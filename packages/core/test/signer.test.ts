import fc from 'fast-check';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { type AccessTokenClaims, AccessTokenSigner, KeySet, verifyAccessToken } from '../src/index.js';

const ISSUER = 'https://auth.example.com';

function expectedPayload(claims: AccessTokenClaims, iat: number, jti: string): Record<string, unknown> {
  let act: Record<string, unknown> | undefined;
  for (const actor of [...(claims.actors ?? [])].reverse()) {
    act = {
      sub: actor.subject,
      ...(actor.clientId === undefined ? {} : { client_id: actor.clientId }),
      ...(act === undefined ? {} : { act }),
    };
  }
  const audience = typeof claims.audience === 'string' ? [claims.audience] : [...claims.audience];
  return {
    sub: claims.subject,
    client_id: claims.clientId,
    ...(claims.scopes === undefined ? {} : { scope: claims.scopes.join(' ') }),
    ...(claims.sessionId === undefined ? {} : { sid: claims.sessionId }),
    ...(claims.authTime === undefined ? {} : { auth_time: claims.authTime }),
    ...(act === undefined ? {} : { act }),
    aud: audience.length === 1 ? audience[0] : audience,
    iss: ISSUER,
    iat,
    exp: iat + 300,
    jti,
  };
}

describe('AccessTokenSigner (node:crypto) against jose', () => {
  it.each(['EdDSA', 'ES256', 'RS256'] as const)(
    '%s tokens verify with our verifier and jose, and equal what jose signs from the same claims',
    async (alg) => {
      const keys = await KeySet.generate([alg]);
      let now = 1_800_000_000_000;
      const signer = new AccessTokenSigner({
        keys: () => keys,
        issuer: ISSUER,
        lifetime: 300,
        now: () => now,
        alg,
      });
      const scope = fc.stringMatching(/^[\x21\x23-\x5b\x5d-\x7e]{1,12}$/);
      const name = fc.stringMatching(/^[\x21-\x7e]{1,20}$/);
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            subject: name,
            clientId: name,
            audience: fc.array(name, { minLength: 1, maxLength: 3 }),
            scopes: fc.array(scope, { maxLength: 4 }),
            sessionId: fc.option(name, { nil: undefined }),
            authTime: fc.option(fc.integer({ min: 0, max: 2_000_000_000 }), { nil: undefined }),
            actors: fc.option(
              fc.array(fc.record({ subject: name, clientId: name }), { minLength: 1, maxLength: 3 }),
              {
                nil: undefined,
              },
            ),
          }),
          async (generated) => {
            const claims = Object.fromEntries(
              Object.entries(generated).filter(([, value]) => value !== undefined),
            ) as unknown as AccessTokenClaims;
            now += 1000;
            const { token, jti, exp } = signer.issue(claims);
            // The oracle: jose signs the same claims the way RFC 9068 and RFC 8693 write them.
            const ours = decodeJwt(token);
            const key = keys.activeKey(alg);
            const reference = await new SignJWT(expectedPayload(claims, ours.iat as number, jti))
              .setProtectedHeader({ alg, typ: 'at+jwt', kid: key.kid })
              .sign(key.privateKey);
            const theirs = decodeJwt(reference);
            expect({ ...ours, jti: 'x' }).toEqual({ ...theirs, jti: 'x' });
            expect(ours.jti).toBe(jti);
            expect(ours.exp).toBe(exp);
            expect(Buffer.from(jti, 'base64url')).toHaveLength(16);
            expect(decodeProtectedHeader(token)).toEqual(decodeProtectedHeader(reference));
            const audience = claims.audience[0] as string;
            const principal = await verifyAccessToken(token, {
              keys,
              issuer: ISSUER,
              audience,
              algorithms: [alg],
              now: () => now,
            });
            expect(principal.subject).toBe(claims.subject);
            await jwtVerify(token, createLocalJWKSet(keys.jwks()), {
              issuer: ISSUER,
              audience,
              typ: 'at+jwt',
              currentDate: new Date(now),
            });
          },
        ),
        { numRuns: 40 },
      );
    },
  );

  it('follows a key rotation and refuses bad claims as misuse', async () => {
    let keys = await KeySet.generate(['EdDSA']);
    const signer = new AccessTokenSigner({ keys: () => keys, issuer: ISSUER, lifetime: 300, now: Date.now });
    const claims = { subject: 's', clientId: 'c', audience: 'a' };
    const first = decodeProtectedHeader(signer.issue(claims).token).kid;
    keys = await KeySet.generate(['EdDSA']);
    const second = decodeProtectedHeader(signer.issue(claims).token).kid;
    expect(second).not.toBe(first);
    expect(second).toBe(keys.activeKey('EdDSA').kid);
    expect(() => signer.issue({ ...claims, audience: [] })).toThrowError(/audience/);
    expect(() => signer.issue({ ...claims, scopes: ['a b'] })).toThrowError(/scope/);
    expect(() => signer.issue(claims, { lifetime: 0 })).toThrowError(/lifetime/);
  });

  it('gives every token its own 128-bit jti, across refills of its random pool', async () => {
    const keys = await KeySet.generate(['EdDSA']);
    const signer = new AccessTokenSigner({ keys, issuer: ISSUER, lifetime: 300, now: Date.now });
    const claims = { subject: 's', clientId: 'c', audience: 'a' };
    // 1,000 tokens use the 4 KiB pool almost four times over.
    const jtis = Array.from({ length: 1000 }, () => decodeJwt(signer.issue(claims).token).jti);
    expect(new Set(jtis).size).toBe(1000);
    for (const jti of jtis) expect(jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
