// Access-token verify, operations per second, for EdDSA, ES256 and RS256 in the same run:
// raw `crypto.verify` on the same signing input and KeyObject (the limit), @tessera/core's
// verifyAccessTokenSync, jose's jwtVerify and fast-jwt's sync verifier, taking turns in small
// batches; medians of several rounds, with the ratio to raw.
import { verify as cryptoVerify } from 'node:crypto';
import { cpus } from 'node:os';
import {
  KeySet,
  type SigningAlgorithm,
  signAccessToken,
  type VerifyAccessTokenOptions,
  verifyAccessTokenSync,
} from '@tessera/core';
import { createVerifier } from 'fast-jwt';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { median } from '../lib/stats.js';
import { printTable, rate, ratio } from '../lib/table.js';
import { type Contestant, interleavedRound } from './measure.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
const roundMs = Number(process.env.BENCH_ROUND_MS ?? 1500);
const algs: SigningAlgorithm[] = ['EdDSA', 'ES256', 'RS256'];
const issuer = 'https://issuer.bench';
const audience = 'orders';

const keys = await KeySet.generate(algs);
const jwks = createLocalJWKSet(keys.jwks());

interface Row {
  readonly alg: SigningAlgorithm;
  readonly name: string;
  readonly ops: number;
}
const rows: Row[] = [];

for (const alg of algs) {
  const key = keys.activeKey(alg);
  const token = await signAccessToken(
    keys,
    {
      subject: 'user-1',
      clientId: 'web',
      audience,
      scopes: ['orders:read', 'orders:write'],
      sessionId: 's1',
    },
    { issuer, alg, lifetime: 3600 },
  );
  const [h, p, s] = token.split('.') as [string, string, string];
  const data = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(s, 'base64url');
  const digest = alg === 'EdDSA' ? null : 'sha256';
  const rawKey = alg === 'ES256' ? { key: key.publicKey, dsaEncoding: 'ieee-p1363' as const } : key.publicKey;

  const options: VerifyAccessTokenOptions = { issuer, audience, keys, algorithms: [alg] };
  const fastJwt = createVerifier({
    key: key.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    algorithms: [alg],
    allowedIss: issuer,
    allowedAud: audience,
    checkTyp: 'at+jwt',
  });
  const joseOptions = { issuer, audience, algorithms: [alg], typ: 'at+jwt' };

  // The synchronous contestants take turns; jose, whose verify is asynchronous (WebCrypto on the
  // thread pool), runs in rounds of its own so its promises and garbage don't land on the others.
  const contestants: Contestant[] = [
    ['raw crypto.verify', () => cryptoVerify(digest, data, rawKey, signature)],
    ['@tessera/core verifyAccessTokenSync', () => verifyAccessTokenSync(token, options)],
    ['fast-jwt createVerifier (sync)', () => fastJwt(token)],
  ];
  const jose: Contestant = ['jose jwtVerify', () => jwtVerify(token, jwks, joseOptions)];
  // Every contestant must accept the token, or the race is meaningless.
  for (const [name, run] of [...contestants, jose]) {
    const result = await run();
    if (result === false || result === undefined) throw new Error(`${name} rejected the ${alg} token`);
  }
  const samples: number[][] = contestants.map(() => []);
  const joseSamples: number[] = [];
  await interleavedRound(contestants, 300); // warm-up: JIT, key caches
  await interleavedRound([jose], 300);
  for (let round = 0; round < rounds; round++) {
    const result = await interleavedRound(contestants, roundMs);
    result.forEach((ops, c) => {
      samples[c]?.push(ops);
    });
    joseSamples.push(...(await interleavedRound([jose], roundMs / 2)));
  }
  contestants.forEach(([name], c) => {
    rows.push({ alg, name, ops: median(samples[c] ?? []) });
  });
  rows.push({ alg, name: jose[0], ops: median(joseSamples) });
}

console.log(
  `node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${rounds} interleaved rounds x ${roundMs} ms, ${new Date().toISOString().slice(0, 10)}`,
);
printTable(
  ['alg', 'contestant', 'ops/s (median)', 'x raw'],
  algs.flatMap((alg) => {
    const raw = rows.find((r) => r.alg === alg && r.name === 'raw crypto.verify')?.ops ?? 1;
    return rows
      .filter((r) => r.alg === alg)
      .map((row) => [alg, row.name, rate(row.ops), ratio(row.ops, raw)]);
  }),
  2,
);
