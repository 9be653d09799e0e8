import { describe, expect, it } from 'vitest';
import { PartRegistry, type PartSpec } from '../src/processes.js';

// A part that says it is ready, and on SIGTERM takes `closeMs` to close (as a service closing
// its store connections), then exits.
function part(name: string, closeMs: number, stopLast = false): PartSpec {
  const script = `console.log('listening on'); process.on('SIGTERM', () => setTimeout(() => process.exit(0), ${closeMs})); setInterval(() => {}, 1000);`;
  return { name, command: process.execPath, args: ['-e', script], env: {}, ready: /listening on/, stopLast };
}

describe('PartRegistry', () => {
  it('stops the store last: the parts that use it have exited before it gets SIGTERM', async () => {
    const registry = new PartRegistry();
    try {
      const store = await registry.start(part('redis', 0, true));
      const services = await Promise.all([
        registry.start(part('orders', 300)),
        registry.start(part('gateway', 150)),
      ]);
      const exits: string[] = [];
      for (const started of [store, ...services]) started.child?.once('exit', () => exits.push(started.name));
      await registry.stopAll();
      expect(exits).toEqual(['gateway', 'orders', 'redis']);
      expect([store, ...services].map((started) => started.running)).toEqual([false, false, false]);
    } finally {
      await registry.stopAll();
      registry.dispose();
    }
  });
});
