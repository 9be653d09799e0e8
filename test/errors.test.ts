import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coreErrorRegistry, ERROR_CODE_PATTERN, type ErrorRegistry } from '@tessera/core';
import { shopErrorRegistry } from '@tessera/example-shop';
import { gatewayErrorRegistry } from '@tessera/gateway';
import { identityErrorRegistry } from '@tessera/identity';
import { resourceErrorRegistry } from '@tessera/resource';
import { sessionErrorRegistry } from '@tessera/session';
import { storageErrorRegistry } from '@tessera/storage';
import { tokenServiceErrorRegistry } from '@tessera/token-service';
import { describe, expect, it } from 'vitest';
import { codesNamed, expectErrorTables } from './support/error-tables.js';

// Every code Tessera has, gathered from each package's registry as its users import it.
const root = fileURLToPath(new URL('..', import.meta.url));
const packages: readonly { readonly dir: string; readonly registry: ErrorRegistry }[] = [
  { dir: 'packages/core', registry: coreErrorRegistry },
  { dir: 'packages/storage', registry: storageErrorRegistry },
  { dir: 'packages/identity', registry: identityErrorRegistry },
  { dir: 'packages/session', registry: sessionErrorRegistry },
  { dir: 'packages/token-service', registry: tokenServiceErrorRegistry },
  { dir: 'packages/resource', registry: resourceErrorRegistry },
  { dir: 'packages/gateway', registry: gatewayErrorRegistry },
  { dir: 'examples/shop', registry: shopErrorRegistry },
];
// The parts that define no code: they throw and answer with the others' codes.
const withoutCodes = ['packages/cli', 'packages/compare'];

// Codes of other libraries a source names, which look like ours: each says where and why.
const foreign: Readonly<Record<string, string>> = {
  ERR_JWT_INVALID: "jose's code for a JWT it cannot read, named in the hybrid provider's message",
  ERR_MODULE_NOT_FOUND: "Node's code for a missing package: the cli tells the absent example shop by it",
};

const registered = new Map<string, string>();
for (const { dir, registry } of packages) {
  for (const code of [...Object.keys(registry.codes), ...Object.keys(registry.misuse)]) {
    // Kept as a list of owners, so a code defined twice shows up below.
    registered.set(code, registered.has(code) ? `${registered.get(code)}, ${dir}` : dir);
  }
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|js)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

describe('the error registry', () => {
  it('defines each code once, in one package', () => {
    const owners = [...registered].filter(([, owner]) => owner.includes(','));
    expect(owners).toEqual([]);
    let count = 0;
    for (const { registry } of packages) {
      count += Object.keys(registry.codes).length + Object.keys(registry.misuse).length;
    }
    expect(registered.size).toBe(count);
  });

  it('has one convention: ERR_ and upper-case words, ERR_INVALID_ for misuse only', () => {
    for (const { dir, registry } of packages) {
      for (const [code, { status, meaning }] of Object.entries(registry.codes)) {
        expect(code, dir).toMatch(ERROR_CODE_PATTERN);
        expect(code, dir).not.toMatch(/^ERR_INVALID_/);
        expect(Number.isInteger(status) && status >= 400 && status <= 599, code).toBe(true);
        expect(meaning.length, code).toBeGreaterThan(10);
      }
      for (const [code, meaning] of Object.entries(registry.misuse)) {
        expect(code, dir).toMatch(ERROR_CODE_PATTERN);
        expect(code, dir).toMatch(/^ERR_INVALID_/);
        expect(meaning.length, code).toBeGreaterThan(10);
      }
    }
  });

  it.each(packages.map(({ dir }) => dir))("%s: the README's error tables are its registry", (dir) => {
    const readme = readFileSync(join(root, dir, 'README.md'), 'utf8');
    const own = packages.find((entry) => entry.dir === dir)?.registry as ErrorRegistry;
    expectErrorTables(readme, own);
    const unregistered = [...codesNamed(readme)].filter((code) => !registered.has(code));
    expect(unregistered).toEqual([]);
  });

  it('names no unregistered code in any other document', () => {
    const documents = [
      'README.md',
      ...readdirSync(join(root, 'docs'))
        .filter((name) => name.endsWith('.md'))
        .map((name) => `docs/${name}`),
      ...withoutCodes.map((dir) => `${dir}/README.md`),
    ];
    for (const document of documents) {
      const text = readFileSync(join(root, document), 'utf8');
      expect(
        [...codesNamed(text)].filter((code) => !registered.has(code)),
        document,
      ).toEqual([]);
    }
  });
});

describe('the sources', () => {
  const sources = [...packages.map(({ dir }) => dir), ...withoutCodes].flatMap((dir) =>
    sourceFiles(join(root, dir, 'src')),
  );

  it('throw and answer with registered codes only', () => {
    const unknown: string[] = [];
    for (const file of sources) {
      const text = readFileSync(file, 'utf8');
      // A code as a string or in backticks, whole: `ERR_OAUTH_${...}` and a prefix such as
      // `ERR_INVALID_` name no code.
      for (const match of text.matchAll(/(['"`])(ERR_[A-Z0-9_]*[A-Z0-9])\1/g)) {
        const code = match[2] as string;
        if (!registered.has(code) && foreign[code] === undefined) {
          unknown.push(`${relative(root, file)}: ${code}`);
        }
      }
    }
    expect(unknown).toEqual([]);
  });

  it('throw no plain TypeError: misuse is a TesseraTypeError with a registered code', () => {
    const plain = sources.filter((file) => /\bnew TypeError\(/.test(readFileSync(file, 'utf8')));
    expect(plain.map((file) => relative(root, file))).toEqual([]);
  });

  it('answer errors only through core: no hand-made error bodies', () => {
    // The shapes of the mappers this registry replaced; core's answerFor is the one that remains.
    const handMade = sources.filter((file) =>
      /\bsend\(\{\s*error:|error_description:\s*['"`]|\berrorResponse\(|\btoOAuthError\(|\banswerOf\(/.test(
        readFileSync(file, 'utf8'),
      ),
    );
    expect(handMade.map((file) => relative(root, file))).toEqual([]);
  });

  it('name each foreign code where it is used', () => {
    for (const [code, why] of Object.entries(foreign)) {
      expect(registered.has(code), `${code} is ours now: drop it from the foreign list`).toBe(false);
      expect(
        sources.some((file) => readFileSync(file, 'utf8').includes(`'${code}'`)),
        why,
      ).toBe(true);
    }
  });
});
