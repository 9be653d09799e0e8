import { type IncomingHttpHeaders, request } from 'node:http';

export interface RawAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

export interface RawRequestOptions {
  readonly method?: string;
  /** Sent exactly as given: an array value is sent as repeated header lines. */
  readonly headers?: Record<string, string | string[]>;
  readonly body?: string;
}

/**
 * One HTTP/1.1 request with the path sent byte for byte (fetch and `new URL` would resolve dot
 * segments and merge repeated headers: exactly what the refusal tests need to send), on a
 * connection of its own.
 */
export function rawRequest(base: string, path: string, options: RawRequestOptions = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const outgoing = request(
      { hostname, port, path, method: options.method ?? 'GET', agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    for (const [name, value] of Object.entries(options.headers ?? {})) outgoing.setHeader(name, value);
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}
