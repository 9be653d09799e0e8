import { createRequire } from 'node:module';

/**
 * The version of this package, read from its package.json at run time. `createRequire` works
 * from both `src/` and `dist/` (one level below the package root) without copying the file into
 * the build, which a JSON import would need under `rootDir: src`.
 */
export function packageVersion(): string {
  const manifest: unknown = createRequire(import.meta.url)('../package.json');
  const version = (manifest as { version?: unknown } | null)?.version;
  return typeof version === 'string' ? version : '0.0.0';
}
