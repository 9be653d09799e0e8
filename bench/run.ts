// `npm run bench [-- name...]`: runs every bench/<name>/index.ts (or those whose name contains
// one of the arguments), each in its own Node process so one benchmark's JIT and heap state does
// not colour the next. When the first argument is exactly one benchmark's name, that benchmark
// alone runs and the arguments after it are its own (`npm run bench -- scale sessions`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));

const all = readdirSync(here, { withFileTypes: true })
  // bench/lib holds the shared machinery, not a benchmark.
  .filter(
    (entry) => entry.isDirectory() && entry.name !== 'lib' && existsSync(join(here, entry.name, 'index.ts')),
  )
  .map((entry) => entry.name)
  .sort();
const named = args[0] !== undefined && all.includes(args[0]) ? args[0] : undefined;
const filters = named === undefined ? args : [];
const benchArgs = named === undefined ? [] : args.slice(1);
const benches =
  named !== undefined
    ? [named]
    : all.filter((name) => filters.length === 0 || filters.some((filter) => name.includes(filter)));

if (benches.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ')}`);
  process.exit(1);
}

let failed = 0;
for (const name of benches) {
  console.log(`\n## bench/${name}\n`);
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(here, name, 'index.ts'), ...benchArgs],
    {
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
