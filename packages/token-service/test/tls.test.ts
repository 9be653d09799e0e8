import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InProcessChannel, MemoryStore } from '@tessera/storage';
import { createDatabase } from '@tessera/storage/sql';
import { afterAll, describe, expect, it } from 'vitest';
import { sqlite } from '../../../test/support/databases.js';
import { TEST_SECRET } from '../../../test/support/token-service/harness.js';
import { openTokenService } from '../src/open.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-ts-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function selfSigned(): { cert: string; key: string } {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

function fetchTls(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('TLS (docs/security.md I96)', () => {
  it('serves every endpoint over HTTPS when given a certificate and key', async () => {
    const tls = selfSigned();
    const database = await sqlite.create();
    const db = await createDatabase(database.config);
    const store = new MemoryStore();
    const channel = new InProcessChannel();
    const service = await openTokenService({
      issuer: 'https://127.0.0.1',
      database: db,
      store,
      channel,
      secret: TEST_SECRET,
      tls,
    });
    try {
      await service.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = service.app.server.address() as AddressInfo;
      const answer = await fetchTls(`https://127.0.0.1:${port}/.well-known/openid-configuration`, tls.cert);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).issuer).toBe('https://127.0.0.1');
      // A plain-http request to the TLS port gets no answer from the app.
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      await service.close();
      await store.close();
      await channel.close();
      await db.destroy();
      await database.cleanup();
    }
  });
});
