import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import type { GatewayOptions } from '@tessera/gateway';
import { readFlagFile } from './files.js';
import { usage } from './options.js';

export interface UpstreamTlsFlags {
  readonly upstreamCa?: string;
  readonly upstreamCert?: string;
  readonly upstreamKey?: string;
}

/** What `createGateway` takes as `upstreamTls`: PEM text. */
export type UpstreamTls = NonNullable<GatewayOptions['upstreamTls']>;

/** A flag's file, read and parsed by `parse`, or a usage error naming the flag and the file (never its content). */
async function parsedFile<T>(
  flag: string,
  file: string,
  what: string,
  parse: (pem: string) => T,
): Promise<{ readonly pem: string; readonly parsed: T }> {
  let pem: string;
  try {
    pem = (await readFlagFile(flag, file)).toString('utf8');
  } catch (error) {
    throw usage((error as Error).message);
  }
  try {
    return { pem, parsed: parse(pem) };
  } catch {
    throw usage(`${flag} ${file} is not ${what}`);
  }
}

const certificate = (pem: string): X509Certificate => new X509Certificate(pem);
const privateKey = (pem: string): KeyObject => createPrivateKey(pem);

/**
 * `tessera gateway --upstream-ca --upstream-cert --upstream-key`: the three together or none.
 * Each file is read and parsed here, and the key must be the certificate's, so a wrong file is a
 * usage error (exit 2) at start, not a failed handshake at the first request.
 */
export async function upstreamTlsOf(flags: UpstreamTlsFlags): Promise<UpstreamTls | undefined> {
  const { upstreamCa, upstreamCert, upstreamKey } = flags;
  if (upstreamCa === undefined && upstreamCert === undefined && upstreamKey === undefined) return undefined;
  if (upstreamCa === undefined || upstreamCert === undefined || upstreamKey === undefined) {
    throw usage('--upstream-ca, --upstream-cert and --upstream-key go together: give all three');
  }
  const ca = await parsedFile('--upstream-ca', upstreamCa, 'a PEM certificate', certificate);
  const cert = await parsedFile('--upstream-cert', upstreamCert, 'a PEM certificate', certificate);
  const key = await parsedFile('--upstream-key', upstreamKey, 'a PEM private key', privateKey);
  if (!cert.parsed.checkPrivateKey(key.parsed)) {
    throw usage(`--upstream-key ${upstreamKey} is not the private key of --upstream-cert ${upstreamCert}`);
  }
  return { ca: ca.pem, cert: cert.pem, key: key.pem };
}
