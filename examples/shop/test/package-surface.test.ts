import { describeDeclaredDependencies } from '../../../test/support/package-checks.js';

// Not published (private): no API report, but what it declares is what it imports.
describeDeclaredDependencies(new URL('..', import.meta.url));
