import { expect } from 'vitest';

/** A package's codes, as `@tessera/core`'s `ErrorRegistry` holds them. */
export interface RegistryLike {
  readonly codes: Readonly<Record<string, { readonly status: number; readonly meaning: string }>>;
  readonly misuse: Readonly<Record<string, string>>;
}

/** The cells of every Markdown table row whose first cell is a code (`` `ERR_...` ``), by code. */
export function errorTableRows(markdown: string): Map<string, readonly string[]> {
  const rows = new Map<string, readonly string[]>();
  for (const line of markdown.split('\n')) {
    const match = /^\|\s*`(ERR_[A-Z0-9_]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (match === null) continue;
    const [, code, rest] = match as unknown as [string, string, string];
    rows.set(
      code,
      rest.split('|').map((cell) => cell.trim()),
    );
  }
  return rows;
}

/** Every code a document names, in a table or in the text. */
export function codesNamed(markdown: string): Set<string> {
  // A prefix such as `ERR_OAUTH_` names no code.
  return new Set([...markdown.matchAll(/`(ERR_[A-Z0-9_]*[A-Z0-9])`/g)].map((match) => match[1] as string));
}

/**
 * A README's error tables document `registry`: a row per runtime code giving its status and
 * ending with its meaning, a row per misuse code ending with its meaning.
 */
export function expectErrorTables(readme: string, registry: RegistryLike): void {
  const rows = errorTableRows(readme);
  for (const [code, { status, meaning }] of Object.entries(registry.codes)) {
    const cells = rows.get(code);
    expect(cells, `${code} has a row`).toBeDefined();
    expect(cells?.[0], `${code}'s status`).toBe(String(status));
    expect(cells?.at(-1), `${code}'s meaning`).toBe(meaning);
  }
  for (const [code, meaning] of Object.entries(registry.misuse)) {
    const cells = rows.get(code);
    expect(cells, `${code} has a row`).toBeDefined();
    expect(cells?.at(-1), `${code}'s meaning`).toBe(meaning);
  }
}

/** The Markdown rows of a registry, for pasting into a README when a code is added. */
export function renderErrorTables(registry: RegistryLike): string {
  const codes = Object.entries(registry.codes).map(
    ([code, { status, meaning }]) => `| \`${code}\` | ${status} | ${meaning} |`,
  );
  const misuse = Object.entries(registry.misuse).map(([code, meaning]) => `| \`${code}\` | ${meaning} |`);
  return [
    '| code | status | meaning |',
    '| --- | --- | --- |',
    ...codes,
    '',
    '| code | meaning |',
    '| --- | --- |',
    ...misuse,
  ].join('\n');
}
