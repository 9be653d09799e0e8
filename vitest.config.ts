import { defineConfig } from 'vitest/config';
import SummaryLineReporter from './test/support/summary-line-reporter.ts';

// One project per package, so `vitest run --project core` runs one package's tests and
// `npm test` runs them all. Tests import sibling packages by name, which resolves to their
// built `dist/` (the `pretest` script builds first), exactly as a user of the package would.
const packages = [
  'core',
  'storage',
  'identity',
  'token-service',
  'session',
  'resource',
  'gateway',
  'cli',
  'compare',
];

export default defineConfig({
  test: {
    reporters: ['default', new SummaryLineReporter()],
    projects: [
      ...packages.map((name) => ({
        test: {
          name,
          root: `packages/${name}`,
          include: ['test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 20_000,
          hookTimeout: 20_000,
        },
      })),
      {
        // The workspace's own rules (import boundaries), over every package.
        test: {
          name: 'workspace',
          root: '.',
          include: ['test/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'shop',
          root: 'examples/shop',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 20_000,
          hookTimeout: 20_000,
        },
      },
    ],
  },
});
