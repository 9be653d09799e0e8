import { connect, type Socket } from 'node:net';

/**
 * One TCP connection driven byte by byte: for requests no HTTP client sends (a body trickled over
 * seconds, `Expect: 100-continue` answered before the body, a body that never ends). Everything
 * received is kept as text; `closed` settles when the connection ends, whoever ends it.
 */
export class RawConnection {
  readonly #socket: Socket;
  #text = '';
  #ended = false;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#text += chunk.toString('latin1');
    });
    // A reset after the answer (the server closed while we were still writing) is an ending too.
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#ended = true;
        resolve();
      }),
    );
  }

  static open(base: string): Promise<RawConnection> {
    const { hostname, port } = new URL(base);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port) }, () =>
        resolve(new RawConnection(socket)),
      );
      socket.once('error', reject);
    });
  }

  /** Everything received so far. */
  get text(): string {
    return this.#text;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Writes and waits until the bytes are handed to the system (false once the connection is gone). */
  write(data: string | Buffer): Promise<boolean> {
    if (this.#ended || this.#socket.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.#socket.write(data, (error) => resolve(error == null));
    });
  }

  /** Resolves true once `pattern` is in the received text, false when `timeoutMs` passes or the connection ends first. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!pattern.test(this.#text)) {
      if (this.#ended || Date.now() > until) return pattern.test(this.#text);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** The final (non-1xx) status of the answer received, or 0 for none. */
  get status(): number {
    const statuses = [...this.#text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
    return statuses.find((s) => s >= 200) ?? 0;
  }

  /** The final answer's body (after its blank line), its chunked framing undone. */
  get body(): string {
    const start = this.#text.search(/^HTTP\/1\.1 [2-5]\d\d/m);
    if (start < 0) return '';
    const at = this.#text.indexOf('\r\n\r\n', start);
    if (at < 0) return '';
    const raw = this.#text.slice(at + 4);
    if (!/^transfer-encoding: *chunked/im.test(this.#text.slice(start, at))) return raw;
    let out = '';
    for (let from = 0; ; ) {
      const line = raw.indexOf('\r\n', from);
      const size = line < 0 ? 0 : Number.parseInt(raw.slice(from, line), 16);
      if (!(size > 0)) return out;
      out += raw.slice(line + 2, line + 2 + size);
      from = line + 2 + size + 2;
    }
  }
}
