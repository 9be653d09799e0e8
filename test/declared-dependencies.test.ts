import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importedPackages } from './support/declared-dependencies.js';

const root = new URL('..', import.meta.url);

interface PackageJson {
  readonly name: string;
  readonly workspaces?: readonly string[];
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
}

const readJson = (path: string): PackageJson =>
  JSON.parse(readFileSync(new URL(path, root), 'utf8')) as PackageJson;

const workspace = readJson('package.json');
// The workspace's own packages are linked by npm's workspaces, never installed from a registry.
const members = new Set(
  (workspace.workspaces ?? []).map((folder) => readJson(`${folder}/package.json`).name),
);
const declared = new Set([
  ...Object.keys(workspace.dependencies ?? {}),
  ...Object.keys(workspace.devDependencies ?? {}),
]);

describe('the workspace root: declared dependencies', () => {
  it('declares every package the shared test harnesses, the root tests and the benchmarks import', () => {
    const imported = importedPackages(root.pathname, ['test', 'bench', 'scripts']);
    const undeclared = [...imported.keys()].filter((name) => !members.has(name) && !declared.has(name));
    expect(undeclared.map((name) => `${name} (${imported.get(name)?.[0]})`)).toEqual([]);
  });

  it('declares each at the range the packages declare it, so one version is installed', () => {
    const ranges = new Map<string, Set<string>>();
    for (const folder of workspace.workspaces ?? []) {
      const pkg = readJson(`${folder}/package.json`);
      for (const [name, range] of Object.entries({ ...pkg.devDependencies, ...pkg.dependencies })) {
        ranges.set(name, (ranges.get(name) ?? new Set()).add(range));
      }
    }
    const differing = Object.entries(workspace.devDependencies ?? {}).filter(
      ([name, range]) => ranges.has(name) && !ranges.get(name)?.has(range),
    );
    expect(differing).toEqual([]);
  });
});
