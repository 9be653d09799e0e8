import { Writable } from 'node:stream';

/** A log destination that keeps every line, to check what the gateway writes. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.lines.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((line) => line.length > 0),
    );
    callback();
  }

  get text(): string {
    return this.lines.join('\n');
  }

  entries(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** The pino level of every line, in order (50 and above: error and fatal). */
  levels(): number[] {
    return this.entries().map((entry) => entry.level as number);
  }
}
