// CPU microseconds each resource-bench server spends per request (from /proc, so far less
// dependent on the machine's load than req/s): `npx tsx bench/resource/cpu-per-request.ts`.
// BENCH_KINDS (bare,tessera-cache,floor,tessera) picks the servers, BENCH_AMOUNT the requests;
// BENCH_PROFILE_DIR set: each server also writes a V8 CPU profile there (--cpu-prof, or the Node
// options in BENCH_NODE_ARGS); BENCH_SERVERS names another servers script beside this one.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeySet, signAccessToken } from '@tessera/core';
import autocannon from 'autocannon';
import { cpuSecondsOf } from '../lib/cpu.js';
import { serveJwks, spawnServer } from '../lib/servers.js';
import type { ServerKind } from './servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const amount = Number(process.env.BENCH_AMOUNT ?? 200_000);
const profileDir = process.env.BENCH_PROFILE_DIR;
const kinds = (process.env.BENCH_KINDS ?? 'bare,tessera-cache,floor,tessera').split(',') as ServerKind[];

const keys = await KeySet.generate(['EdDSA']);
const jwks = await serveJwks(() => keys.jwks());
const token = await signAccessToken(
  keys,
  { subject: 'alice', clientId: 'web', audience: 'orders', scopes: ['orders:read'] },
  { issuer: jwks.url, lifetime: 3600 },
);
const publicPem = keys.activeKey('EdDSA').publicKey.export({ format: 'pem', type: 'spki' }).toString();
const headers = { authorization: `Bearer ${token}` };
try {
  for (const kind of kinds) {
    const server = await spawnServer(join(here, process.env.BENCH_SERVERS ?? 'servers.ts'), [kind], {
      env: { ...process.env, BENCH_ISSUER: jwks.url, BENCH_JWKS_URI: jwks.url, BENCH_PUBLIC_PEM: publicPem },
      ...(profileDir === undefined
        ? {}
        : {
            nodeArgs: process.env.BENCH_NODE_ARGS?.split(' ') ?? [
              '--cpu-prof',
              `--cpu-prof-dir=${profileDir}/${kind}`,
            ],
          }),
    });
    const url = `http://127.0.0.1:${server.port}/orders`;
    const pid = server.pid as number;
    const perKind = kind === 'floor' || kind === 'tessera' ? amount / 5 : amount;
    await autocannon({ url, headers, connections: 10, amount: perKind / 4 });
    const before = cpuSecondsOf(pid);
    const result = await autocannon({ url, headers, connections: 10, amount: perKind });
    const used = cpuSecondsOf(pid) - before;
    console.log(
      `${kind}: ${((used * 1e6) / result.requests.total).toFixed(2)} us CPU per request (${result.requests.total} requests, non-2xx ${result.non2xx})`,
    );
    await server.close();
  }
} finally {
  jwks.close();
}
