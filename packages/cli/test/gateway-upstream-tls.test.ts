import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, type IssuedCertificate } from '../../../test/support/certificates.js';
import { bin, spawnTessera } from './support/processes.js';

// `tessera gateway --upstream-ca --upstream-cert --upstream-key` (the gateway's `upstreamTls`),
// spawned as a user runs it: a real HTTPS upstream asking for client certificates sees the
// gateway's; a bad, missing or mismatched file is a usage error (exit 2). docs/security.md C170.

const dir = mkdtempSync(join(tmpdir(), 'tessera-upstream-tls-'));
const children = new Set<ChildProcess>();
let upstream: Server;
let gatewayCertificate: IssuedCertificate;
const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'gateway.pem'), key: join(dir, 'gateway-key.pem') };
const otherKey = join(dir, 'other-key.pem');
const notPem = join(dir, 'not-pem.pem');
let config: string;

beforeAll(async () => {
  const ca = await createCertificateAuthority();
  gatewayCertificate = await ca.issue({ subject: 'CN=gateway', usage: 'client' });
  const server = await ca.issue({ subject: 'CN=127.0.0.1', ips: ['127.0.0.1'], usage: 'server' });
  writeFileSync(files.ca, ca.cert);
  writeFileSync(files.cert, gatewayCertificate.cert);
  writeFileSync(files.key, gatewayCertificate.key, { mode: 0o600 });
  writeFileSync(otherKey, (await ca.issue({ subject: 'CN=other' })).key, { mode: 0o600 });
  writeFileSync(notPem, 'not a certificate\n');
  upstream = createServer(
    { cert: server.cert, key: server.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true },
    (request, response) => {
      const peer = (request.socket as TLSSocket).getPeerX509Certificate();
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ peer: peer?.subject ?? null }));
    },
  );
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    `listen: { host: 127.0.0.1, port: 0 }\nlogLevel: silent\nroutes:\n  - { prefix: /up, upstream: "https://127.0.0.1:${(upstream.address() as AddressInfo).port}", auth: public }\n`,
  );
});

afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  upstream?.closeAllConnections();
  upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

function tessera(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('tessera gateway --upstream-ca/--upstream-cert/--upstream-key', () => {
  it('C170: the gateway presents its certificate to an https upstream that asks for one', async () => {
    const running = spawnTessera(
      [
        'gateway',
        '--config',
        config,
        '--upstream-ca',
        files.ca,
        '--upstream-cert',
        files.cert,
        '--upstream-key',
        files.key,
      ],
      { env: { PATH: process.env.PATH ?? '' }, cwd: dir, children },
    );
    const [, address] = await running.waitFor(/listening on (http:\/\/\S+)/, 15_000);
    const answer = await fetch(`${address}/up/x`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ peer: 'CN=gateway' });
  });

  it.each([
    ['only some of the three', ['--upstream-cert', files.cert], /give all three/],
    [
      'a missing file',
      ['--upstream-ca', join(dir, 'nope.pem'), '--upstream-cert', files.cert, '--upstream-key', files.key],
      /--upstream-ca .*nope\.pem does not exist/,
    ],
    [
      'a file that is not a certificate',
      ['--upstream-ca', files.ca, '--upstream-cert', notPem, '--upstream-key', files.key],
      /--upstream-cert .* is not a PEM certificate/,
    ],
    [
      'a file that is not a key',
      ['--upstream-ca', files.ca, '--upstream-cert', files.cert, '--upstream-key', notPem],
      /--upstream-key .* is not a PEM private key/,
    ],
    [
      "another certificate's key",
      ['--upstream-ca', files.ca, '--upstream-cert', files.cert, '--upstream-key', otherKey],
      /is not the private key of --upstream-cert/,
    ],
  ])('C170: %s -> one usage line, exit 2, no key material', (_name, flags, message) => {
    const { status, stdout, stderr } = tessera('gateway', '--config', config, ...flags);
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stderr).not.toContain('PRIVATE KEY');
  });
});
