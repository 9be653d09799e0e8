import { describe, expect, it } from 'vitest';
import { modulesLoadedBy, modulesOf } from '../../../test/support/loaded-modules.js';

// A service that embeds this package installs and loads what verifying needs, not the config
// loader and its YAML parser (those are @tessera/core/config, for the parts that read a file).
describe('what a service importing @tessera/resource loads', () => {
  it('loads neither yaml nor core’s config loader, from the root entry and the Fastify adapter', async () => {
    const loaded = await modulesLoadedBy(
      "await import('@tessera/resource'); await import('@tessera/resource/fastify');",
    );
    // The recorder saw the package itself and core (so an empty list below means something).
    expect(loaded.some((url) => url.includes('/packages/resource/dist/adapters/fastify.js'))).toBe(true);
    expect(loaded.some((url) => url.includes('/packages/core/dist/index.js'))).toBe(true);
    expect(modulesOf(loaded, 'yaml')).toEqual([]);
    expect(modulesOf(loaded, '@tessera/core/config')).toEqual([]);
  });
});
