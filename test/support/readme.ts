import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// A README's examples are run as written, so they cannot drift from the code: the first ```ts
// block is taken out, its imports are pointed at the files under test, and it is imported as a
// module from a file of its own.

/** The first ```ts block of `markdown` (a README or one section of it). */
export function firstExample(markdown: string): string {
  const block = /```ts\n([\s\S]*?)```/.exec(markdown)?.[1];
  if (block === undefined) throw new Error('the text has no ```ts block');
  return block;
}

/**
 * `source` with every `from '<specifier>'` importing `target` instead (a file URL, or a path
 * `require.resolve` gave): a package's own example runs against its `src/`, not a stale `dist/`.
 */
export function importing(source: string, specifier: string, target: URL | string): string {
  const url = typeof target === 'string' ? pathToFileURL(target) : target;
  return source.replaceAll(`from '${specifier}'`, `from ${JSON.stringify(url.href)}`);
}

export interface ExampleRunner {
  /** Writes `source` to a new file of the runner's directory and imports it; resolves when its top level has run. */
  run(source: string): Promise<void>;
  /** Removes the directory and every example written in it. */
  remove(): void;
}

/**
 * Runs examples from files in a new directory: under the system's temp dir, or under `parent`
 * when the example's own bare imports (`@tessera/...`) must resolve as they would in a package.
 */
export function exampleRunner(name: string, parent?: URL): ExampleRunner {
  const dir = mkdtempSync(
    parent === undefined ? join(tmpdir(), `tessera-${name}-`) : join(fileURLToPath(parent), `.${name}-`),
  );
  let runs = 0;
  return {
    async run(source) {
      const file = join(dir, `example-${runs++}.ts`);
      writeFileSync(file, source);
      await import(/* @vite-ignore */ pathToFileURL(file).href);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
