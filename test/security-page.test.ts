import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// docs/security.md is our list of what Tessera refuses: one line a case, `- **ID** input -> what
// Tessera does -> the requirement -> the tests`. This keeps it a list a reader can check: each
// case names a requirement and tests that exist, and one of those tests names the case.

const root = new URL('..', import.meta.url);
const page = readFileSync(new URL('docs/security.md', root), 'utf8');

interface SecurityCase {
  readonly id: string;
  readonly parts: readonly string[];
  readonly tests: readonly string[];
}

const cases: SecurityCase[] = page.split('\n').flatMap((line) => {
  const match = /^- \*\*([A-L]\d+)\*\* (.*)$/.exec(line);
  if (match === null) return [];
  const parts = (match[2] as string).split(' -> ');
  const tests = [...(parts.at(-1) ?? '').matchAll(/`([^`]+\.test\.ts)`/g)].map((found) => found[1] as string);
  return [{ id: match[1] as string, parts, tests }];
});

// The names a case is cited by in a test file: `docs/security.md F84` anywhere, or its id (`F84`,
// `F 84`) or its number and a colon (`84:`, in a describe of its letter) in a test's or suite's name.
function cites(source: string, id: string): boolean {
  const letter = id.slice(0, 1);
  const number = id.slice(1);
  if (new RegExp(`\\b${letter} ?${number}\\b`).test(source)) return true;
  const names = source.matchAll(/\b(?:it|test|describe)(?:\.each\([^)]*\))?\(\s*(['"`])(.*?)\1/gs);
  return [...names].some(([, , name]) => new RegExp(`(?:^|\\b)${number}(?:, ?\\d+)*:`).test(name ?? ''));
}

describe('docs/security.md', () => {
  it('lists cases, each id once', () => {
    expect(cases.length).toBeGreaterThan(100);
    const ids = cases.map(({ id }) => id);
    expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
  });

  it('gives every case its input, what is done, a requirement and the tests that prove it', () => {
    const malformed = cases.filter(
      ({ parts, tests }) =>
        parts.length < 4 ||
        tests.length === 0 ||
        !/\b(?:RFC \d+|ASVS|OIDC|OpenID|BCP|our rule|conformance)/.test(parts.at(-2) ?? ''),
    );
    expect(malformed.map(({ id }) => id)).toEqual([]);
  });

  it('names only tests that exist, and one of them names the case', () => {
    const missing = cases.flatMap(({ id, tests }) =>
      tests.filter((path) => !existsSync(new URL(path, root))).map((path) => `${id}: ${path}`),
    );
    expect(missing).toEqual([]);
    const uncited = cases.filter(
      ({ id, tests }) => !tests.some((path) => cites(readFileSync(new URL(path, root), 'utf8'), id)),
    );
    expect(uncited.map(({ id, tests }) => `${id} (${tests.join(', ')})`)).toEqual([]);
  });
});
