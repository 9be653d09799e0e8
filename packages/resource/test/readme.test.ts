import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectErrorTables } from '../../../test/support/error-tables.js';

const here = new URL('.', import.meta.url);
const readme = readFileSync(new URL('../README.md', here), 'utf8');

describe('README', () => {
  it.each(['fastify', 'express', 'session'])('quotes test/examples/%s.ts verbatim', (name) => {
    const example = readFileSync(new URL(`examples/${name}.ts`, here), 'utf8').trimEnd();
    expect(readme).toContain(`\`\`\`ts\n${example}\n\`\`\``);
  });

  it('documents every code with its status and meaning, and every misuse code', async () => {
    const { resourceErrorRegistry } = await import('../src/errors.js');
    expectErrorTables(readme, resourceErrorRegistry);
  });
});
