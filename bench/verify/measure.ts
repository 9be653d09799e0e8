export type Contestant = readonly [name: string, run: () => unknown];

/**
 * One round: the contestants take turns, a small batch each, until `ms` have passed; returns each
 * one's ops/s. Interleaving at batch granularity makes a noisy neighbour (another process on a
 * 2-core machine) slow every contestant alike instead of whichever happened to run at the time;
 * the starting contestant rotates so none always runs right after another (and its garbage).
 */
export async function interleavedRound(
  contestants: readonly Contestant[],
  ms: number,
  batch = 4,
): Promise<number[]> {
  const spent = contestants.map(() => 0n);
  const ops = contestants.map(() => 0);
  const end = process.hrtime.bigint() + BigInt(ms) * 1_000_000n;
  for (let cycle = 0; process.hrtime.bigint() < end; cycle++) {
    for (let turn = 0; turn < contestants.length; turn++) {
      const c = (turn + cycle) % contestants.length;
      const run = (contestants[c] as Contestant)[1];
      const start = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) {
        const result = run();
        if (result instanceof Promise) await result;
      }
      spent[c] = (spent[c] as bigint) + (process.hrtime.bigint() - start);
      ops[c] = (ops[c] as number) + batch;
    }
  }
  return contestants.map((_, c) => ((ops[c] as number) * 1e9) / Number(spent[c]));
}
