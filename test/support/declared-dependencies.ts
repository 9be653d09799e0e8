import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

// Every way a module names another: import/export ... from, a bare import, import() (in code or
// in a type), require() and require.resolve().
const specifiers = [
  /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s+['"]([^'"]+)['"]/g,
  /\bimport\s+['"]([^'"]+)['"]/g,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\brequire(?:\.resolve)?\(\s*['"]([^'"]+)['"]\s*\)/g,
];

// npm's rule for a package name: lower case, URL-safe, optionally scoped.
const VALID_NAME = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(?:ts|mts|js|mjs)$/.test(file) && !file.endsWith('.d.ts'))
    .map((file) => join(dir, file));
}

/** The package a bare specifier names (`@scope/name` or `name`); undefined for a relative path or a builtin. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:'))
    return undefined;
  if (specifier.startsWith('data:') || specifier.startsWith('file:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
  // What no package can be called: a placeholder in a test's text (`from '…'`), a template.
  if (!VALID_NAME.test(name)) return undefined;
  return builtinModules.includes(name) ? undefined : name;
}

/**
 * The packages the code in `folders` of `dir` imports (a package's source: src/ and bin/), by the
 * files that import them.
 */
export function importedPackages(
  dir: string,
  folders: readonly string[] = ['src', 'bin'],
): Map<string, string[]> {
  const imported = new Map<string, string[]>();
  for (const file of folders.flatMap((folder) => sourceFiles(join(dir, folder)))) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of specifiers) {
      for (const match of text.matchAll(pattern)) {
        const name = packageOf(match[1] as string);
        if (name === undefined) continue;
        imported.set(name, [...(imported.get(name) ?? []), file]);
      }
    }
  }
  return imported;
}
