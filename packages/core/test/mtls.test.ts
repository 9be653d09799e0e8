import { X509Certificate } from 'node:crypto';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCertificate } from '../../../test/support/certificates.js';
import { craft, header as headerFor } from '../../../test/support/craft.js';
import {
  AccessTokenSigner,
  certificateThumbprint,
  checkCertificateBinding,
  checkDpopBinding,
  createAccessTokenVerifier,
  KeySet,
  type PeerCertificateSource,
  peerCertificateThumbprint,
  refuseBoundBearer,
  sha256Base64url,
} from '../src/index.js';
import { audience, issuer, validClaims } from './helpers/claims.js';

// Certificate-bound tokens (RFC 8705 3) in core: `cnf.x5t#S256` signed and verified into
// `principal.binding`, and the check against a connection's peer certificate. A connection here
// is what a TLSSocket offers; the resource and token-service tests run the same over real TLS.

const nowS = Math.floor(Date.now() / 1000);

let keys: KeySet;
let certificate: X509Certificate;
let other: X509Certificate;
let thumbprint: string;

const socketWith = (peer: X509Certificate | undefined): PeerCertificateSource => ({
  getPeerX509Certificate: () => peer,
});

beforeAll(async () => {
  keys = await KeySet.generate(['EdDSA']);
  certificate = new X509Certificate((await createSelfSignedCertificate('CN=a')).cert);
  other = new X509Certificate((await createSelfSignedCertificate('CN=b')).cert);
  thumbprint = certificateThumbprint(certificate);
});

const verifierOf = () => createAccessTokenVerifier({ issuer, audience, keys });

describe('x5t#S256 (RFC 8705 3.1)', () => {
  it('is the SHA-256 of the DER, base64url, of a certificate or its bytes', () => {
    expect(thumbprint).toBe(sha256Base64url(certificate.raw));
    expect(certificateThumbprint(certificate.raw)).toBe(thumbprint);
    expect(thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("is read from a connection's peer certificate, undefined without one", () => {
    expect(peerCertificateThumbprint(socketWith(certificate))).toBe(thumbprint);
    expect(peerCertificateThumbprint(socketWith(undefined))).toBeUndefined();
    expect(peerCertificateThumbprint({})).toBeUndefined();
    expect(peerCertificateThumbprint(undefined)).toBeUndefined();
  });
});

describe('a token bound to a certificate (cnf.x5t#S256)', () => {
  it('is signed with cnf from certificateThumbprint, and not with dpopJkt too', () => {
    const signer = new AccessTokenSigner({ keys, issuer });
    const claims = { subject: 'orders', clientId: 'orders', audience };
    const { token } = signer.issue({ ...claims, certificateThumbprint: thumbprint });
    expect(decodeJwt(token).cnf).toEqual({ 'x5t#S256': thumbprint });
    expect(() => signer.issue({ ...claims, certificateThumbprint: 'short' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CLAIM' }),
    );
    expect(() => signer.issue({ ...claims, certificateThumbprint: thumbprint, dpopJkt: thumbprint })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CLAIM' }),
    );
  });

  it('verifies into binding {type: mtls}, good only on a connection with that certificate', () => {
    const key = keys.activeKey('EdDSA');
    const token = craft(key, headerFor(key), validClaims(nowS, { cnf: { 'x5t#S256': thumbprint } }));
    const principal = verifierOf().verifySync(token);
    expect(principal.binding).toEqual({ type: 'mtls', x5tS256: thumbprint });
    expect(() => checkCertificateBinding(principal, socketWith(certificate))).not.toThrow();
    expect(() => refuseBoundBearer(principal, socketWith(certificate))).not.toThrow();
    for (const check of [checkCertificateBinding, refuseBoundBearer]) {
      expect(() => check(principal, socketWith(other))).toThrow(
        expect.objectContaining({ code: 'ERR_MTLS_CERTIFICATE_MISMATCH', status: 401 }),
      );
      expect(() => check(principal, socketWith(undefined))).toThrow(
        expect.objectContaining({ code: 'ERR_MTLS_CERTIFICATE_REQUIRED', status: 401 }),
      );
    }
    // A caller that passes no connection cannot check the binding, so it refuses the token.
    expect(() => refuseBoundBearer(principal)).toThrow(
      expect.objectContaining({ code: 'ERR_MTLS_CERTIFICATE_REQUIRED' }),
    );
    // Under DPoP it is no DPoP-bound token.
    expect(() => checkDpopBinding(principal, { jkt: thumbprint, jti: 'j', iat: nowS, alg: 'EdDSA' })).toThrow(
      expect.objectContaining({ code: 'ERR_DPOP_TOKEN_NOT_BOUND' }),
    );
  });

  it.each([
    ['a short x5t#S256', { 'x5t#S256': 'abc' }],
    ['a number', { 'x5t#S256': 5 }],
    ['x5t#S256 and jkt at once', { 'x5t#S256': 'x'.repeat(43), jkt: 'y'.repeat(43) }],
    ['x5t (SHA-1) instead', { x5t: 'x'.repeat(27) }],
  ])('C159: refuses a cnf with %s', (_name, cnf) => {
    const key = keys.activeKey('EdDSA');
    const token = craft(key, headerFor(key), validClaims(nowS, { cnf }));
    expect(() => verifierOf().verifySync(token)).toThrow(
      expect.objectContaining({ code: 'ERR_JWT_CLAIM_INVALID' }),
    );
  });
});
