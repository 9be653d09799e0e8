import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const here = new URL('.', import.meta.url);
const readme = readFileSync(new URL('../README.md', here), 'utf8');

describe('README', () => {
  it.each(['fastify', 'express', 'session'])('quotes test/examples/%s.ts verbatim', (name) => {
    const example = readFileSync(new URL(`examples/${name}.ts`, here), 'utf8').trimEnd();
    expect(readme).toContain(`\`\`\`ts\n${example}\n\`\`\``);
  });

  it('documents every ResourceError code', async () => {
    const { resourceErrorCodes } = await import('../src/errors.js');
    for (const [code, meaning] of Object.entries(resourceErrorCodes)) {
      expect(readme).toContain(`| \`${code}\` |`);
      expect(readme).toContain(meaning);
    }
  });
});
