import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that holds every chunk `delayMs` in each direction: one network hop
 * with a round trip of twice that, made in userland because netem is not available everywhere.
 * Chunks keep their order (timers of one duration fire in the order they were set).
 */
export class DelayProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #port = 0;
  readonly targetPort: number;
  readonly delayMs: number;

  constructor(targetPort: number, delayMs: number) {
    this.targetPort = targetPort;
    this.delayMs = delayMs;
    this.#server = createServer((client) => this.#pipe(client));
  }

  get port(): number {
    return this.#port;
  }

  async listen(port: number): Promise<void> {
    this.#server.listen(port, '127.0.0.1');
    await once(this.#server, 'listening');
    const address = this.#server.address();
    this.#port = typeof address === 'object' && address !== null ? address.port : port;
  }

  #pipe(client: Socket): void {
    const upstream = connect({ host: '127.0.0.1', port: this.targetPort });
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk: Buffer) => {
        setTimeout(() => {
          if (!to.destroyed) to.write(chunk);
        }, this.delayMs);
      });
      from.on('end', () => setTimeout(() => to.end(), this.delayMs));
    };
    forward(client, upstream);
    forward(upstream, client);
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    if (!this.#server.listening) return;
    const closed = once(this.#server, 'close');
    this.#server.close();
    await closed;
  }
}
