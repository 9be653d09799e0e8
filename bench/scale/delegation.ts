// Delegation: an access token after 1 to 5 token exchanges (RFC 8693), each hop adding the
// exchanging service as the current actor, nested in `act`, as the token service's exchange grant
// writes it (`{ sub: <client_id> }`); its size in bytes and the cost of verifying it
// (@tessera/core's verifier: signature, claims, the act chain read into the principal's actors).
// The depths take turns in small batches (bench/verify/measure.ts); medians of several rounds.
import { AccessTokenSigner, createAccessTokenVerifier, KeySet } from '@tessera/core';
import { median } from '../lib/stats.js';
import { printTable } from '../lib/table.js';
import { interleavedRound } from '../verify/measure.js';
import { printRatio } from './flat.js';

const rounds = Number(process.env.BENCH_ROUNDS_MICRO ?? 7);
const roundMs = Number(process.env.BENCH_ROUND_MS ?? 1500);
const issuer = 'https://issuer.scale.test';
const hops = ['orders', 'payments', 'ledger', 'audit', 'archive'];

const keys = await KeySet.generate(['EdDSA']);
const signer = new AccessTokenSigner({ keys, issuer, lifetime: 3600 });
const verifier = createAccessTokenVerifier({ issuer, audience: 'downstream', keys });
const depths = hops.map((_, i) => i + 1);
const tokens = depths.map(
  (depth) =>
    signer.issue({
      subject: 'alice-sub',
      clientId: hops[depth - 1] ?? 'orders',
      audience: 'downstream',
      scopes: ['orders:read'],
      sessionId: 'sid-alice-1',
      // Current actor first: the service of the latest hop, then the ones before it.
      actors: hops
        .slice(0, depth)
        .reverse()
        .map((subject) => ({ subject })),
    }).token,
);
for (const [i, token] of tokens.entries()) {
  const actors = verifier.verifySync(token).actors.length;
  if (actors !== depths[i]) throw new Error(`a ${depths[i]}-hop token verified with ${actors} actors`);
}

console.log(
  `EdDSA access tokens after 1 to ${hops.length} exchanges, verify by @tessera/core in turns of small batches, ` +
    `${rounds} rounds of ${roundMs} ms, medians`,
);
const perRound: number[][] = [];
for (let r = 0; r < rounds; r++) {
  perRound.push(
    await interleavedRound(
      tokens.map((token, i) => [`${i + 1} hops`, () => verifier.verifySync(token)] as const),
      roundMs,
    ),
  );
}
const ops = depths.map((_, i) => median(perRound.map((round) => round[i] ?? 0)));
const bytes = tokens.map((token) => Buffer.byteLength(token));
printTable(
  ['hops', 'token bytes', 'bytes over 1 hop', 'verify ops/s', 'µs per verify'],
  depths.map((depth, i) => [
    depth,
    bytes[i] ?? 0,
    (bytes[i] ?? 0) - (bytes[0] ?? 0),
    Math.round(ops[i] ?? 0).toLocaleString('en-US'),
    (1e6 / (ops[i] ?? 1)).toFixed(2),
  ]),
);
const last = depths.length - 1;
const perHopBytes = ((bytes[last] ?? 0) - (bytes[0] ?? 0)) / last;
const perHopUs = (1e6 / (ops[last] ?? 1) - 1e6 / (ops[0] ?? 1)) / last;
console.log(
  `\nper hop beyond the first: ${perHopBytes.toFixed(0)} bytes, ${perHopUs.toFixed(2)} µs of verify`,
);
printRatio(`token bytes (${hops.length} hops / 1 hop)`, (bytes[last] ?? 0) / (bytes[0] ?? 1));
printRatio(`verify ops/s (${hops.length} hops / 1 hop)`, (ops[last] ?? 0) / (ops[0] ?? 1));
