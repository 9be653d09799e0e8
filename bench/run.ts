// `npm run bench [-- name...]`: runs every bench/<name>/index.ts (or those whose name contains
// one of the arguments), each in its own Node process so one benchmark's JIT and heap state does
// not colour the next.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));

const benches = readdirSync(here, { withFileTypes: true })
  // bench/lib holds the shared machinery, not a benchmark.
  .filter(
    (entry) => entry.isDirectory() && entry.name !== 'lib' && existsSync(join(here, entry.name, 'index.ts')),
  )
  .map((entry) => entry.name)
  .filter((name) => filters.length === 0 || filters.some((filter) => name.includes(filter)))
  .sort();

if (benches.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ')}`);
  process.exit(1);
}

let failed = 0;
for (const name of benches) {
  console.log(`\n## bench/${name}\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(here, name, 'index.ts')], {
    stdio: 'inherit',
  });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
