import { describeApiSurface } from '../../../test/support/api-surface-suite.js';

describeApiSurface(new URL('..', import.meta.url));
