import { describeApiSurface, describeDeclaredDependencies } from '../../../test/support/package-checks.js';

describeApiSurface(new URL('..', import.meta.url));
describeDeclaredDependencies(new URL('..', import.meta.url));
