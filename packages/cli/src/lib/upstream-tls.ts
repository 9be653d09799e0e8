import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFlagFile } from './files.js';
import { usage } from './options.js';

export interface UpstreamTlsFlags {
  readonly upstreamCa?: string;
  readonly upstreamCert?: string;
  readonly upstreamKey?: string;
}

/** What `createGateway` takes as `upstreamTls`: PEM text. */
export interface UpstreamTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** A flag's file, read, or a usage error naming the flag and the file (never its content). */
async function pemOf(flag: string, file: string): Promise<string> {
  try {
    return (await readFlagFile(flag, file)).toString('utf8');
  } catch (error) {
    throw usage((error as Error).message);
  }
}

/** Parses with `parse`, or a usage error saying what `flag`'s file should have held. */
function checked(flag: string, file: string, what: string, parse: () => unknown): void {
  try {
    parse();
  } catch {
    throw usage(`${flag} ${file} is not ${what}`);
  }
}

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
  const ca = await pemOf('--upstream-ca', upstreamCa);
  const cert = await pemOf('--upstream-cert', upstreamCert);
  const key = await pemOf('--upstream-key', upstreamKey);
  checked('--upstream-ca', upstreamCa, 'a PEM certificate', () => new X509Certificate(ca));
  checked('--upstream-cert', upstreamCert, 'a PEM certificate', () => new X509Certificate(cert));
  checked('--upstream-key', upstreamKey, 'a PEM private key', () => createPrivateKey(key));
  if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
    throw usage(`--upstream-key ${upstreamKey} is not the private key of --upstream-cert ${upstreamCert}`);
  }
  return { ca, cert, key };
}
