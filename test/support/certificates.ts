// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// Certificates for mutual-TLS tests, made in-process on WebCrypto (no openssl): a CA, leaves it
// signs (a server's, a client's with a given subject and subjectAltNames), and self-signed ones.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/** A certificate and its private key, PEM, and the certificate's DER. */
export interface IssuedCertificate {
  readonly cert: string;
  readonly key: string;
  readonly der: Buffer;
  readonly keys: webcrypto.CryptoKeyPair;
}

export interface CertificateAuthority extends IssuedCertificate {
  /** A leaf certificate signed by this CA. */
  issue(options: LeafOptions): Promise<IssuedCertificate>;
}

export interface LeafOptions {
  /** The subject DN as RFC 4514 writes it (`CN=orders, O=Shop`). */
  readonly subject: string;
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  readonly uris?: readonly string[];
  readonly emails?: readonly string[];
  /** Server (`serverAuth`) or client (`clientAuth`); default both. */
  readonly usage?: 'server' | 'client';
  readonly notAfter?: Date;
}

async function pemKey(keys: webcrypto.CryptoKeyPair): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as webcrypto.CryptoKey);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function issued(
  certificate: x509.X509Certificate,
  keys: webcrypto.CryptoKeyPair,
): Promise<IssuedCertificate> {
  return {
    cert: certificate.toString('pem'),
    key: await pemKey(keys),
    der: Buffer.from(certificate.rawData),
    keys,
  };
}

function leafExtensions(options: LeafOptions): x509.Extension[] {
  const names: x509.JsonGeneralName[] = [
    ...(options.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(options.emails ?? []).map((value) => ({ type: 'email' as const, value })),
  ];
  const usages =
    options.usage === 'server'
      ? [x509.ExtendedKeyUsage.serverAuth]
      : options.usage === 'client'
        ? [x509.ExtendedKeyUsage.clientAuth]
        : [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(usages),
    ...(names.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(names)]),
  ];
}

/** A new CA (`CN=<name>`), valid for a day. */
export async function createCertificateAuthority(name = 'Tessera Test CA'): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    keys,
    signingAlgorithm: ALGORITHM,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const own = await issued(certificate, keys);
  return {
    ...own,
    async issue(options: LeafOptions): Promise<IssuedCertificate> {
      const leafKeys = await generateKeys();
      const leaf = await x509.X509CertificateGenerator.create({
        subject: options.subject,
        issuer: certificate.subject,
        publicKey: leafKeys.publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm: ALGORITHM,
        notBefore: new Date(Date.now() - 60_000),
        notAfter: options.notAfter ?? new Date(Date.now() + DAY_MS),
        extensions: leafExtensions(options),
      });
      return issued(leaf, leafKeys);
    },
  };
}

/** A self-signed client certificate (RFC 8705 2.2), valid for a day. */
export async function createSelfSignedCertificate(
  subject = 'CN=self-signed client',
): Promise<IssuedCertificate> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: subject,
    keys,
    signingAlgorithm: ALGORITHM,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + DAY_MS),
    extensions: leafExtensions({ subject, usage: 'client' }),
  });
  return issued(certificate, keys);
}
