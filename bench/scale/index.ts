// `npm run bench -- scale [sub...]`: does a cost stay flat as the work grows? Each sub-benchmark
// measures its smallest and its largest size side by side and prints the largest over the
// smallest (bench/README.md lists them, their sizes and their targets). Each runs in a Node process
// of its own, as run.ts runs each benchmark, so one's heap (a million session ids, a 100k-entry
// deny-list) does not weigh on the next.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const subBenches = ['sessions', 'revocation', 'clients', 'routes', 'delegation', 'users'] as const;
const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(subBenches as readonly string[]).includes(name));
if (unknown.length > 0) {
  console.error(`no scale sub-benchmark ${unknown.join(', ')} (there are ${subBenches.join(', ')})`);
  process.exit(1);
}

let failed = 0;
for (const name of asked.length === 0 ? subBenches : asked) {
  console.log(`\n### scale ${name}\n`);
  const started = performance.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(here, `${name}.ts`)], {
    stdio: 'inherit',
  });
  console.log(`\n(scale ${name}: ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
