import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The import boundaries between the workspace's parts. A package's source imports only itself and
// other packages by name; a package's test imports its own src/ and test/, the shared harnesses of
// root test/support/ and other packages by name (their built dist/, as a user would). A relative
// path into another package would test that package's sources from outside, where a refactor of
// them breaks tests nobody thinks to run. Biome's noRestrictedImports matches specifiers, not the
// files they resolve to, so the rule is this test.

const root = fileURLToPath(new URL('..', import.meta.url));
const scanned = ['packages', 'examples', 'test', 'bench', 'scripts'];
const skipped = new Set(['node_modules', 'dist', '.git']);
const sourceFile = /\.(?:ts|tsx|mts|cts|js|mjs|cjs)$/;

// `import x from '…'`, `import '…'`, `export … from '…'`, `import('…')`: what a module loads.
const importSpecifier = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*)\1/g;
// `new URL('…', import.meta.url)`: a file a module reads or spawns.
const urlSpecifier = /new URL\(\s*(['"`])(\.{1,2}\/[^'"`]*)\1\s*,\s*import\.meta\.url/g;

/** `packages/<name>` or `examples/<name>` holding `path` (relative to the root), or undefined. */
function packageOf(path: string): string | undefined {
  const [top, name] = path.split(sep);
  return (top === 'packages' || top === 'examples') && name !== undefined ? `${top}/${name}` : undefined;
}

const within = (path: string, dir: string) => path === dir || path.startsWith(`${dir}${sep}`);

/** Why `file` (relative to the root) may not refer to `target`, or undefined when it may. */
function refusal(file: string, target: string, kind: 'import' | 'url'): string | undefined {
  const own = packageOf(file);
  const theirs = packageOf(target);
  if (kind === 'url') {
    // Reading another package's built output (a CLI's bin) is using it; its src/ and test/ are not.
    if (theirs === undefined || theirs === own) return undefined;
    const inside = relative(theirs, target).split(sep)[0];
    return inside === 'src' || inside === 'test' ? `reads ${theirs}/${inside}/ by path` : undefined;
  }
  if (own === undefined) {
    if (theirs === undefined) return undefined;
    // A shared harness drives a package's build, and may read the built internals of the service
    // it started (the token service's context): that is the build, never the package's sources.
    const inside = relative(theirs, target).split(sep)[0];
    if (within(file, join('test', 'support')) && inside === 'dist') return undefined;
    return `imports ${theirs} by path, not by its package name`;
  }
  const inTest = within(file, join(own, 'test'));
  if (theirs === own) {
    return !inTest && within(target, join(own, 'test')) ? 'imports its own tests from its source' : undefined;
  }
  if (inTest && within(target, join('test', 'support'))) return undefined;
  if (theirs !== undefined) return `imports ${theirs} by path, not by its package name`;
  return inTest ? 'imports a root file outside test/support/' : 'imports a file outside its package';
}

/** Every refused reference of one file: `file -> target: why`. */
function violations(file: string, source: string): string[] {
  const found: string[] = [];
  for (const [pattern, kind] of [
    [importSpecifier, 'import'],
    [urlSpecifier, 'url'],
  ] as const) {
    for (const match of source.matchAll(pattern)) {
      const specifier = match[2] as string;
      const target = relative(root, resolve(root, dirname(file), specifier));
      const why = refusal(file, target, kind);
      if (why !== undefined) found.push(`${file} -> ${specifier}: ${why}`);
    }
  }
  return found;
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    if (skipped.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (sourceFile.test(entry.name)) yield path;
  }
}

describe('import boundaries', () => {
  it('no file reaches into another package by a relative path', () => {
    const files = scanned.flatMap((dir) => [...sourceFiles(dir)]);
    // The walk found the workspace (a wrong root would find nothing and pass).
    expect(files).toContain(join('packages', 'core', 'src', 'index.ts'));
    expect(files).toContain(join('test', 'support', 'token-service', 'harness.ts'));
    expect(files.flatMap((file) => violations(file, readFileSync(join(root, file), 'utf8')))).toEqual([]);
  });

  it('refuses each way of reaching across and allows the shared harnesses', () => {
    const test = join('packages', 'gateway', 'test', 'hybrid.test.ts');
    const nested = join('packages', 'gateway', 'test', 'support', 'a.ts');
    const src = join('packages', 'gateway', 'src', 'auth', 'x.ts');
    const bench = join('bench', 'gateway', 'index.ts');
    expect(
      violations(
        test,
        [
          "import { a } from '../../token-service/test/support/harness.js';",
          "import type { B } from '../../token-service/src/store/client.js';",
          "export { c } from '../../resource/dist/index.js';",
          "import '../../core/src/side-effect.js';",
          "const d = await import('../../session/src/index.js');",
          "const e = new URL('../../identity/src/index.ts', import.meta.url);",
          "import { f } from '../../../scripts/report-images.js';",
        ].join('\n'),
      ),
    ).toEqual([
      `${test} -> ../../token-service/test/support/harness.js: imports packages/token-service by path, not by its package name`,
      `${test} -> ../../token-service/src/store/client.js: imports packages/token-service by path, not by its package name`,
      `${test} -> ../../resource/dist/index.js: imports packages/resource by path, not by its package name`,
      `${test} -> ../../core/src/side-effect.js: imports packages/core by path, not by its package name`,
      `${test} -> ../../session/src/index.js: imports packages/session by path, not by its package name`,
      `${test} -> ../../../scripts/report-images.js: imports a root file outside test/support/`,
      `${test} -> ../../identity/src/index.ts: reads packages/identity/src/ by path`,
    ]);
    expect(
      violations(
        test,
        [
          "import { a } from '../src/index.js';",
          "import { b } from './support/upstream.js';",
          "import { c } from '../../../test/support/token-service/harness.js';",
          "import { d } from '@tessera/token-service';",
          "const bin = new URL('../../cli/dist/bin.js', import.meta.url);",
        ].join('\n'),
      ),
    ).toEqual([]);
    expect(violations(nested, "import { a } from '../../src/app.js';")).toEqual([]);
    expect(violations(src, "import { a } from '../../../../test/support/logs.js';")).toEqual([
      `${src} -> ../../../../test/support/logs.js: imports a file outside its package`,
    ]);
    expect(violations(src, "import { a } from '../../test/support/upstream.js';")).toEqual([
      `${src} -> ../../test/support/upstream.js: imports its own tests from its source`,
    ]);
    expect(violations(bench, "import { a } from '../../packages/gateway/src/app.js';")).toEqual([
      `${bench} -> ../../packages/gateway/src/app.js: imports packages/gateway by path, not by its package name`,
    ]);
    expect(violations(bench, "import { a } from '../../test/support/redis.js';")).toEqual([]);
  });
});
