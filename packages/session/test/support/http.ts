import { request as httpRequest } from 'node:http';

export type JsonBody = Record<string, unknown> & {
  readonly error?: { readonly code: string; readonly message: string };
};

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The JSON body; an error answer's is core's `{ error: { code, message } }`. */
  json(): JsonBody;
  /** The single Set-Cookie of the response, or undefined. */
  readonly setCookie: string | undefined;
}

/** A plain HTTP request with exactly the headers given (fetch would add or forbid some). */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const cookies = res.headers['set-cookie'];
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text) as JsonBody,
            setCookie: cookies?.[0],
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** `name=value` of a Set-Cookie, for the next request's Cookie header. */
export function cookiePair(setCookie: string | undefined): string {
  if (setCookie === undefined) throw new Error('no Set-Cookie');
  return setCookie.split(';')[0] ?? '';
}

export function jsonBody(value: unknown): { headers: Record<string, string>; body: string } {
  return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}
