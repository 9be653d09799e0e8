import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * The gateway's logger. Access-log lines are written by the gateway itself with a fixed set of
 * fields (never headers, the query string or a body); the redaction below is a second line of
 * defence for anything that logs a request or its headers anyway.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'tessera-gateway' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-csrf-token"]',
        'req.headers["x-tessera-session"]',
        'res.headers["set-cookie"]',
        'headers.authorization',
        'headers.cookie',
        'password',
        '*.password',
      ],
      censor: '[redacted]',
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
