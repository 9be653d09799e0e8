import pino, { type DestinationStream, type Logger } from 'pino';

export interface LogOutput {
  /** Where every line goes; default stdout (through pino-pretty with `pretty`). */
  readonly destination?: DestinationStream;
  /** Human-readable lines (pino-pretty) instead of JSON, for a person at a terminal. */
  readonly pretty?: boolean;
}

/**
 * The one stream every part of a process writes to: stdout as JSON, or pino-pretty's stream for
 * `--pretty`. Loaded only when asked for: `tessera --help` pays for neither.
 */
export async function logStream(output: LogOutput): Promise<DestinationStream> {
  if (output.destination !== undefined) return output.destination;
  if (output.pretty !== true) return pino.destination({ fd: 1, sync: false });
  const { default: pretty } = await import('pino-pretty');
  return pretty({ destination: 1, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' });
}

/**
 * A part's root logger, named by `service` on every line (`tessera-token-service`, `orders`, ...):
 * the packages add their own redaction and request serializers on a child of it.
 */
export function partLogger(service: string, stream: DestinationStream, level = 'info'): Logger {
  return pino({ level, base: { service } }, stream);
}
