import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repositoryRoot } from './api-surface.js';

// Module hooks (run on the loader's own thread): every URL the ESM loader resolves is appended
// to the log file, synchronously, before the resolution returns.
const hooks = `
import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(log, resolved.url + '\\n');
  return resolved;
}`;

/**
 * Runs `script` (an ES module body) in a fresh Node process at the repository root and returns
 * every module it loaded: each URL the ESM loader resolved, and each file in `require.cache`
 * (CommonJS modules required by CommonJS, which the ESM hooks never see). Packages resolve as a
 * user's would, by name, to their built dist/.
 */
export async function modulesLoadedBy(script: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-loaded-'));
  const log = join(dir, 'resolved.log');
  const body = `
import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)}, { data: { log: ${JSON.stringify(log)} } });
await (async () => { ${script} })();
for (const file of Object.keys(createRequire(import.meta.url).cache)) appendFileSync(${JSON.stringify(log)}, 'file://' + file + '\\n');
`;
  try {
    await promisify(execFile)(process.execPath, ['--input-type=module', '-e', body], {
      cwd: repositoryRoot,
      timeout: 60_000,
    });
    return [
      ...new Set(
        readFileSync(log, 'utf8')
          .split('\n')
          .filter((line) => line !== ''),
      ),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The loaded modules that belong to the package `name` (its files under a node_modules/<name>/, or ours). */
export function modulesOf(loaded: readonly string[], name: string): string[] {
  const ours: Record<string, string> = {
    '@tessera/identity': '/packages/identity/',
    '@tessera/core/config': '/packages/core/dist/config/',
  };
  const marker = ours[name] ?? `/node_modules/${name}/`;
  return loaded.filter((url) => url.includes(marker));
}
