import { connect } from 'node:net';
import type { PartSpec } from './processes.js';

/** A private redis-server on `port`: loopback only, persisted to `dir` so a stop and start keeps the sessions. */
export function redisServerSpec(port: number, dir: string): PartSpec {
  return {
    name: 'redis',
    stopLast: true,
    command: 'redis-server',
    args: [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--dbfilename',
      'compare.rdb',
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    env: {},
    ready: /Ready to accept connections/,
  };
}

function encode(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

/**
 * One command on a connection of its own, resolving with the reply's text (a bulk or simple
 * string); bounded by `timeoutMs`. Enough for INFO and SHUTDOWN: no client library needed.
 */
export function redisCommand(port: number, args: readonly string[], timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error(`redis ${args[0]} timed out`)), timeoutMs);
    const done = (error?: Error, value?: string) => {
      clearTimeout(timer);
      socket.destroy();
      if (error === undefined) resolve(value ?? '');
      else reject(error);
    };
    socket.on('connect', () => socket.write(encode(args)));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const text = data.toString('utf8');
      if (text.startsWith('+') || text.startsWith('-') || text.startsWith(':')) {
        if (text.includes('\r\n')) done(undefined, text.slice(1, text.indexOf('\r\n')));
        return;
      }
      if (text.startsWith('$')) {
        const end = text.indexOf('\r\n');
        const length = Number(text.slice(1, end));
        const body = data.subarray(Buffer.byteLength(text.slice(0, end + 2)));
        if (length < 0) done(undefined, '');
        else if (body.length >= length) done(undefined, body.subarray(0, length).toString('utf8'));
      }
    });
    // SHUTDOWN closes the connection without a reply.
    socket.on('close', () => done(undefined, data.toString('utf8')));
    socket.on('error', (error) => done(error));
  });
}

/**
 * Commands that are the Redis channel's or the clients' own housekeeping, not session-store
 * operations: the revocation stream readers block in XREAD, clients say HELLO and ask INFO.
 */
const NOT_STORE_OPERATIONS = new Set([
  'info',
  'xread',
  'xadd',
  'hello',
  'client',
  'ping',
  'select',
  'command',
  'config',
  'shutdown',
  'xinfo',
  'xrevrange',
]);

/** Calls per command so far (`INFO commandstats`), housekeeping left out. */
export async function commandCalls(port: number): Promise<number> {
  const info = await redisCommand(port, ['INFO', 'commandstats']);
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm)) {
    const name = (match[1] ?? '').split('|')[0] ?? '';
    if (!NOT_STORE_OPERATIONS.has(name)) total += Number(match[2]);
  }
  return total;
}
