import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/support/logs.js';
import { closedPort, startUpstream } from '../../../test/support/upstream.js';
import { createGateway, parseGatewayConfig } from '../src/index.js';
import { createLogger } from '../src/observability/logger.js';
import { logsAt, requestLogger } from '../src/observability/request-logger.js';

function rootAt(level: string) {
  const logs = new LogCapture();
  return { logs, root: createLogger(level, logs) };
}

describe('the request logger', () => {
  it('writes with the request id bound, through the root logger and its redaction', () => {
    const { logs, root } = rootAt('info');
    const log = requestLogger(root, { reqId: 'req-7' }, {});
    log.info({ headers: { authorization: 'Bearer secret-value' }, n: 1 }, 'hello');
    expect(logs.entries()).toEqual([
      expect.objectContaining({ reqId: 'req-7', n: 1, msg: 'hello', service: 'tessera-gateway' }),
    ]);
    expect(logs.text).not.toContain('secret-value');
  });

  it('writes nothing below the level, and still writes what the level lets through', () => {
    const { logs, root } = rootAt('warn');
    const log = requestLogger(root, { reqId: 'req-8' }, {});
    log.info('not written');
    log.debug('not written');
    expect(logs.lines).toEqual([]);
    expect(logsAt(log, 'info')).toBe(false);
    expect(logsAt(log, 'warn')).toBe(true);
    log.error({ code: 'x' }, 'written');
    expect(logs.entries()).toEqual([expect.objectContaining({ reqId: 'req-8', code: 'x', msg: 'written' })]);
  });

  it('follows the root level until its own is set, which changes no other logger', () => {
    const { logs, root } = rootAt('warn');
    const log = requestLogger(root, { reqId: 'req-9' }, {});
    expect(log.level).toBe('warn');
    root.level = 'info';
    expect(log.level).toBe('info');
    log.level = 'error';
    expect(log.level).toBe('error');
    expect(root.level).toBe('info');
    log.warn('not written: this request logs errors only');
    root.info('the root still writes info');
    expect(logs.entries().map((e) => e.msg)).toEqual(['the root still writes info']);
  });

  it('makes children that carry its bindings and their own', () => {
    const { logs, root } = rootAt('info');
    requestLogger(root, { reqId: 'req-10' }, {}).child({ part: 'upstream' }).info('child line');
    expect(logs.entries()).toEqual([expect.objectContaining({ reqId: 'req-10', part: 'upstream' })]);
  });

  it('gives a route with logger options of its own a real child at that level', () => {
    const { logs, root } = rootAt('info');
    const log = requestLogger(root, { reqId: 'req-11' }, { level: 'error' });
    log.info('not written');
    log.error('written');
    expect(logs.entries().map((e) => [e.reqId, e.msg])).toEqual([['req-11', 'written']]);
  });

  it('is what a gateway at warn answers with: no access lines, and a failed upstream still logged', async () => {
    const logs = new LogCapture();
    const upstream = await startUpstream();
    const down = await closedPort();
    const gateway = await createGateway(
      parseGatewayConfig({
        logLevel: 'warn',
        routes: [
          { prefix: '/ok', upstream: upstream.url, auth: 'public' },
          { prefix: '/down', upstream: `http://127.0.0.1:${down}`, auth: 'public' },
        ],
      }),
      { logDestination: logs },
    );
    try {
      await gateway.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
      expect((await fetch(`${base}/ok`)).status).toBe(200);
      expect((await fetch(`${base}/down`)).status).toBe(502);
      const entries = logs.entries();
      expect(entries.filter((e) => e.msg === 'request')).toEqual([]);
      expect(entries.every((e) => (e.level as number) >= 40)).toBe(true);
      expect(entries).toContainEqual(
        expect.objectContaining({ msg: 'upstream failed', level: 40, reqId: expect.any(String) }),
      );
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});
