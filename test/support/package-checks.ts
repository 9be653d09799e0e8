import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type ApiSurface, apiSurfaceOf, readPackageJson, reportPath } from './api-surface.js';
import { importedPackages } from './declared-dependencies.js';

/** The `## API` section of a README: up to the next heading of the same level. */
function apiSection(readme: string): string {
  const start = readme.indexOf('\n## API\n');
  if (start === -1) return '';
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

/**
 * The API-surface test of one published package (`packageUrl`: its directory): what the built
 * package exports, entry by entry, values and types, equals its committed `api.json`, and every
 * name of it is documented in the README's API section. An export added, renamed or removed
 * fails here until the report is regenerated (`npx tsx scripts/api-report.ts`) and the README says
 * what it is: the exports map holds the documented API and nothing else.
 */
export function describeApiSurface(packageUrl: URL): void {
  const dir = fileURLToPath(packageUrl);
  const { name } = readPackageJson(dir);
  describe(`${name}: API surface`, () => {
    it('exports exactly what api.json records (regenerate it with `npx tsx scripts/api-report.ts`)', async () => {
      const path = reportPath(dir);
      expect(existsSync(path), `${path} is missing`).toBe(true);
      const recorded = JSON.parse(readFileSync(path, 'utf8')) as ApiSurface;
      expect(await apiSurfaceOf(dir)).toEqual(recorded);
    });

    it("documents every export in the README's API section", () => {
      const recorded = JSON.parse(readFileSync(reportPath(dir), 'utf8')) as ApiSurface;
      const section = apiSection(readFileSync(join(dir, 'README.md'), 'utf8'));
      const missing: string[] = [];
      for (const [entry, surface] of Object.entries(recorded)) {
        if (!section.includes(`\`${entry === '.' ? name : `${name}${entry.slice(1)}`}\``))
          missing.push(entry);
        for (const value of [...surface.values, ...surface.types]) {
          if (!new RegExp(`\`${value.replace(/\$/g, '\\$')}\\b`).test(section))
            missing.push(`${entry} ${value}`);
        }
      }
      expect(missing).toEqual([]);
    });
  });
}

/**
 * The dependency test of one workspace: every package its source (src/, bin/) imports is declared
 * (a dependency, or a peer for what the embedding application brings), and every declared
 * dependency and peer is imported somewhere, so an installer gets what the code needs and nothing
 * it never loads.
 */
export function describeDeclaredDependencies(packageUrl: URL): void {
  const dir = fileURLToPath(packageUrl);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    name: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  const declared = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
  describe(`${pkg.name}: declared dependencies`, () => {
    it('declares every package its source imports', () => {
      const imported = importedPackages(dir);
      const undeclared = [...imported.keys()].filter((name) => name !== pkg.name && !declared.includes(name));
      expect(undeclared.map((name) => `${name} (${imported.get(name)?.[0]})`)).toEqual([]);
    });

    it('imports every package it declares', () => {
      const imported = importedPackages(dir);
      expect(declared.filter((name) => !imported.has(name))).toEqual([]);
    });
  });
}
