import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What one entry of an `exports` map offers: its runtime values, and the names that are types only. */
export interface EntrySurface {
  readonly values: readonly string[];
  readonly types: readonly string[];
}

/** A package's whole surface, by entry (`.`, `./fastify`, ...), as `api.json` records it. */
export type ApiSurface = Readonly<Record<string, EntrySurface>>;

interface PackageJson {
  readonly name: string;
  readonly private?: boolean;
  readonly exports?: Readonly<
    Record<string, string | { readonly types?: string; readonly default?: string }>
  >;
}

export const repositoryRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The directories of the packages we publish: every workspace that is not private. */
export function publishedPackageDirs(): string[] {
  const root = JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as {
    workspaces: string[];
  };
  return root.workspaces
    .map((workspace) => join(repositoryRoot, workspace))
    .filter((dir) => readPackageJson(dir).private !== true);
}

export function readPackageJson(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** The module entries of the exports map (conditions objects with a `default`), `./package.json` left out. */
function moduleEntries(pkg: PackageJson): [string, { types: string; default: string }][] {
  const entries: [string, { types: string; default: string }][] = [];
  for (const [entry, target] of Object.entries(pkg.exports ?? {})) {
    if (typeof target === 'string') continue;
    if (target.default === undefined || target.types === undefined)
      throw new Error(`${pkg.name} exports ${entry} without both types and default`);
    entries.push([entry, { types: target.types, default: target.default }]);
  }
  return entries.sort(([a], [b]) => a.localeCompare(b));
}

/**
 * The source of a declaration file with comments removed and every string literal kept, so that
 * braces are counted only where they are code.
 */
function withoutComments(source: string): string {
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      while (i < source.length && source[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && next === '*') {
      i = source.indexOf('*/', i + 2) + 1;
      if (i === 0) break;
    } else if (c === '"' || c === "'" || c === '`') {
      const start = i;
      for (i++; i < source.length && source[i] !== c; i++) if (source[i] === '\\') i++;
      out += source.slice(start, i + 1);
    } else out += c;
  }
  return out;
}

/** The statements of `source` that begin with `export` at the top level (not inside a block). */
function topLevelExports(source: string): string[] {
  const code = withoutComments(source);
  const found: string[] = [];
  let depth = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < code.length && code[i] !== c; i++) if (code[i] === '\\') i++;
    } else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (
      depth === 0 &&
      /^export[\s{*]/.test(code.slice(i, i + 7)) &&
      !/[\w$.]/.test(code[i - 1] ?? ' ')
    ) {
      found.push(code.slice(i, code.indexOf(';', i) === -1 ? undefined : code.indexOf(';', i) + 1));
    }
  }
  return found;
}

// `export type * ...` adds the same names as `export * ...`, as types only: the report's split of
// values from types comes from the module itself.
const namespaceStar = /^export\s+(?:type\s+)?\*\s+as\s+([\w$]+)\s+from/;
const star = /^export\s+(?:type\s+)?\*\s+from\s+(['"])(.+?)\1/;
const list = /^export\s+(?:type\s+)?\{([^}]*)\}/;
const declaration =
  /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:const|let|var|function|class|interface|type|enum|namespace)\s+([\w$]+)/;

/** The names one top-level `export` statement adds. */
function namesOf(
  statement: string,
  file: string,
  target: (specifier: string) => string,
  seen: Set<string>,
): string[] {
  const namespace = namespaceStar.exec(statement);
  if (namespace !== null) return [namespace[1] as string];
  const all = star.exec(statement);
  if (all !== null)
    return [...declaredNames(target(all[2] as string), seen)].filter((name) => name !== 'default');
  const named = list.exec(statement);
  if (named !== null) {
    return (named[1] as string)
      .split(',')
      .map((part) => part.trim().replace(/^type\s+/, ''))
      .filter((spec) => spec !== '')
      .map((spec) => (spec.split(/\s+as\s+/).at(-1) as string).trim());
  }
  const declared = declaration.exec(statement);
  if (declared !== null) return [declared[1] as string];
  if (/^export\s+default\b/.test(statement)) return ['default'];
  throw new Error(`${file}: cannot read "${statement.slice(0, 80)}"`);
}

/** Every name a declaration file exports, following `export * from` into the files it names. */
export function declaredNames(file: string, seen: Set<string> = new Set()): Set<string> {
  const names = new Set<string>();
  if (seen.has(file)) return names;
  seen.add(file);
  const target = (specifier: string) => {
    if (!specifier.startsWith('.')) throw new Error(`${file}: re-export of a package (${specifier})`);
    return resolve(dirname(file), specifier.replace(/\.js$/, '.d.ts'));
  };
  for (const statement of topLevelExports(readFileSync(file, 'utf8'))) {
    for (const name of namesOf(statement, file, target, seen)) names.add(name);
  }
  return names;
}

/**
 * The surface of the built package in `dir` (run `npx tsc -b` first): for each entry of its
 * exports map, the keys of the module a user imports by package name, and the names its
 * declaration file adds that exist as types only.
 */
export async function apiSurfaceOf(dir: string): Promise<ApiSurface> {
  const pkg = readPackageJson(dir);
  const surface: Record<string, EntrySurface> = {};
  for (const [entry, target] of moduleEntries(pkg)) {
    const specifier = entry === '.' ? pkg.name : `${pkg.name}${entry.slice(1)}`;
    const module = (await import(/* @vite-ignore */ specifier)) as Record<string, unknown>;
    const values = Object.keys(module).sort();
    const declared = declaredNames(join(dir, target.types));
    const undeclared = values.filter((name) => !declared.has(name));
    if (undeclared.length > 0) throw new Error(`${specifier}: no declaration for ${undeclared.join(', ')}`);
    surface[entry] = {
      values,
      types: [...declared].filter((name) => !values.includes(name)).sort(),
    };
  }
  return surface;
}

/** The report committed beside a package's package.json. */
export function reportPath(dir: string): string {
  return join(dir, 'api.json');
}

export function formatReport(surface: ApiSurface): string {
  return `${JSON.stringify(surface, null, 2)}\n`;
}
