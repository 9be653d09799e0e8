// Revocation: a resource server's verify req/s holding no revoked tokens and holding 100k (jti
// entries, the kind a token revocation publishes), every request with one of 1,000 live tokens
// picked at random, no verified-token cache (each request checks the signature and the
// deny-list); and the deny-list's heap per entry, measured here with the same entries.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AccessTokenSigner, exportSigningKey, KeySet } from '@tessera/core';
import type autocannon from 'autocannon';
import type { RunningServer } from '../lib/servers.js';
import { printTable } from '../lib/table.js';
import { closeAll, compareSizes, describeRun, launch, pick, printRatio, type SizedTarget } from './flat.js';
import { audience, denyListOf } from './servers.js';

const sizes = (process.env.BENCH_REVOKED ?? '0,100000').split(',').map(Number) as [number, number];
const issuer = 'https://issuer.scale.test';

// The heap per entry first, in this process before any server or token exists.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
/** Heap growth per entry of a deny-list of `count` (a function, so the list is garbage after it). */
function bytesPerEntry(count: number): number {
  const before = heapAfterGc();
  const list = denyListOf(issuer, count);
  const after = heapAfterGc();
  if (list.size !== count) throw new Error(`the deny-list holds ${list.size} entries, not ${count}`);
  return (after - before) / count;
}
bytesPerEntry(1000); // the first build also compiles and allocates what every later one reuses
const heap = [10_000, sizes[1]].map((count) => ({ count, perEntry: bytesPerEntry(count) }));
printTable(
  ['revoked jtis held', 'heap bytes per entry'],
  heap.map((h) => [h.count.toLocaleString('en-US'), h.perEntry.toFixed(0)]),
);
printRatio('heap bytes per entry', (heap[1]?.perEntry ?? 0) / (heap[0]?.perEntry ?? 1));

const keys = await KeySet.generate(['EdDSA']);
const signer = new AccessTokenSigner({ keys, issuer, lifetime: 3600 });
const claims = { subject: 'alice', clientId: 'web', audience, scopes: ['orders:read'] };
const tokens = Array.from({ length: 1000 }, () => `Bearer ${signer.issue(claims).token}`);
const revoked = signer.issue(claims);
const env = {
  ...process.env,
  BENCH_ISSUER: issuer,
  BENCH_SIGNING_KEY: JSON.stringify(await exportSigningKey(keys.activeKey('EdDSA'))),
  BENCH_REVOKED_JTI: revoked.jti,
};

describeRun('GET /orders with one of 1,000 EdDSA bearer tokens, verified every time');
const servers: RunningServer[] = [];
try {
  const targets: SizedTarget[] = [];
  for (const count of sizes) {
    const server = await launch('resource', [String(count)], { env });
    servers.push(server);
    const url = `http://127.0.0.1:${server.port}/orders`;
    const check = await fetch(url, { headers: { authorization: pick(tokens) } });
    if (check.status !== 200) throw new Error(`${count} revoked: a live token answered ${check.status}`);
    const refused = await fetch(url, { headers: { authorization: `Bearer ${revoked.token}` } });
    if (count > 0 && refused.status !== 401)
      throw new Error(`${count} revoked: a revoked token answered ${refused.status}`);
    targets.push({
      name: `${count} revoked`,
      size: `${count.toLocaleString('en-US')} revoked`,
      url,
      headers: {},
      requests: [
        {
          setupRequest: (request: autocannon.Request) => ({
            ...request,
            headers: { ...request.headers, authorization: pick(tokens) },
          }),
        },
      ],
    });
  }
  await compareSizes(targets);
} finally {
  await closeAll(servers);
}
