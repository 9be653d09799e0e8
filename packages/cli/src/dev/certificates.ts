// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API first.
import 'reflect-metadata';
import { webcrypto, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

/** The parts of `tessera dev --mtls` that each get a certificate of the development CA. */
export const mtlsParts = ['token-service', 'gateway', 'orders', 'inventory', 'payments'] as const;
export type MtlsPart = (typeof mtlsParts)[number];

/** One part's certificate and private key, PEM. */
export interface PartCertificate {
  readonly cert: string;
  readonly key: string;
}

/** The development CA's certificate (every part's trust anchor) and each part's certificate. */
export interface DevCertificates {
  readonly ca: string;
  readonly parts: Readonly<Record<MtlsPart, PartCertificate>>;
  /** Where they are kept (`<dir>/mtls`). */
  readonly dir: string;
}

const P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const VALID_DAYS = 30;
const DAY_MS = 86_400_000;
// Made again when fewer days than this are left, so a running system never meets an expired one.
const RENEW_BEFORE_MS = 2 * DAY_MS;

const fileOf = (dir: string, name: string) => join(dir, `${name}.pem`);

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function privatePem(keys: webcrypto.CryptoKeyPair): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as webcrypto.CryptoKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/**
 * A new CA and a certificate per part, each part's naming it by `CN=<part>` and the DNS name
 * `<part>.tessera.dev`, valid for 127.0.0.1 as a server and usable as a TLS client: every part
 * both serves and calls. The CA's private key signs them here and is kept nowhere.
 */
async function generate(nowMs: number): Promise<Omit<DevCertificates, 'dir'>> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const notBefore = new Date(nowMs - 60_000);
  const notAfter = new Date(nowMs + VALID_DAYS * DAY_MS);
  const caKeys = await keyPair();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=Tessera development CA',
    keys: caKeys,
    signingAlgorithm: P256,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const parts: Partial<Record<MtlsPart, PartCertificate>> = {};
  for (const part of mtlsParts) {
    const keys = await keyPair();
    const leaf = await x509.X509CertificateGenerator.create({
      subject: `CN=${part}`,
      issuer: ca.subject,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: P256,
      notBefore,
      notAfter,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: `${part}.tessera.dev` },
          { type: 'ip', value: '127.0.0.1' },
        ]),
      ],
    });
    parts[part] = { cert: leaf.toString('pem'), key: await privatePem(keys) };
  }
  return { ca: ca.toString('pem'), parts: parts as Record<MtlsPart, PartCertificate> };
}

async function load(dir: string, nowMs: number): Promise<Omit<DevCertificates, 'dir'> | undefined> {
  try {
    const ca = await readFile(fileOf(dir, 'ca'), 'utf8');
    if (Date.parse(new X509Certificate(ca).validTo) - nowMs < RENEW_BEFORE_MS) return undefined;
    const parts: Partial<Record<MtlsPart, PartCertificate>> = {};
    for (const part of mtlsParts) {
      parts[part] = {
        cert: await readFile(fileOf(dir, part), 'utf8'),
        key: await readFile(fileOf(dir, `${part}-key`), 'utf8'),
      };
    }
    return { ca, parts: parts as Record<MtlsPart, PartCertificate> };
  } catch {
    // Missing or unreadable: all of them are made again.
    return undefined;
  }
}

/**
 * The development CA and the parts' certificates under `<dir>/mtls`: read when all are there and
 * the CA has days left, else made anew (on WebCrypto, no openssl) and written, keys 0600.
 */
export async function devCertificates(dir: string, nowMs: number = Date.now()): Promise<DevCertificates> {
  const where = join(dir, 'mtls');
  const kept = await load(where, nowMs);
  if (kept !== undefined) return { ...kept, dir: where };
  const made = await generate(nowMs);
  await mkdir(where, { recursive: true, mode: 0o700 });
  await writeFile(fileOf(where, 'ca'), made.ca);
  for (const part of mtlsParts) {
    const { cert, key } = made.parts[part];
    await writeFile(fileOf(where, part), cert);
    const keyFile = fileOf(where, `${part}-key`);
    await writeFile(keyFile, key, { mode: 0o600 });
    await chmod(keyFile, 0o600);
  }
  return { ...made, dir: where };
}
