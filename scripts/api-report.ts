// The API report of every published package, `packages/<name>/api.json`, from the built dist/:
//   npx tsc -b && npx tsx scripts/api-report.ts
// Each package's test/api-surface.test.ts fails until the report matches what the package
// exports: an export added or removed is a deliberate, reviewed change of this file.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  apiSurfaceOf,
  formatReport,
  publishedPackageDirs,
  reportPath,
  repositoryRoot,
} from '../test/support/api-surface.ts';

const written: string[] = [];
for (const dir of publishedPackageDirs()) {
  const path = reportPath(dir);
  writeFileSync(path, formatReport(await apiSurfaceOf(dir)));
  written.push(path);
  process.stdout.write(`${relative(repositoryRoot, path)}\n`);
}
// In the repository's own format, so `biome check` and the report agree.
execFileSync(join(repositoryRoot, 'node_modules/.bin/biome'), ['format', '--write', ...written], {
  stdio: 'ignore',
});
