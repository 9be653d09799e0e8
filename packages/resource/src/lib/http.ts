import { request } from 'undici';

/** Options of one outgoing request: every call is bounded in time and in body size. */
export interface BoundedRequest {
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Whole-request deadline in ms. */
  readonly timeout: number;
  /** Largest body accepted, in bytes. */
  readonly maxBodyBytes: number;
}

export interface BoundedResponse {
  readonly status: number;
  /** The answer's headers, names in lower case (a repeated header as an array). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
}

/** Thrown for anything but a complete answer: timeout, refused connection, oversized body. */
export class OutgoingRequestError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OutgoingRequestError';
  }
}

/**
 * One request on undici, the project's HTTP client. undici's `request` never follows redirects
 * (a 3xx is just a status the caller refuses), the deadline covers headers and body, and the body
 * is read only up to its cap, so a slow or hostile peer can cost at most `timeout` and `maxBodyBytes`.
 */
export async function boundedRequest(url: string | URL, options: BoundedRequest): Promise<BoundedResponse> {
  const signal = AbortSignal.timeout(options.timeout);
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(url, {
      method: options.method ?? 'GET',
      headers: options.headers ?? {},
      ...(options.body === undefined ? {} : { body: options.body }),
      signal,
    });
  } catch (error) {
    throw new OutgoingRequestError('the request failed or timed out', { cause: error });
  }
  const declared = Number(response.headers['content-length'] ?? '0');
  if (declared > options.maxBodyBytes) {
    response.body.destroy();
    throw new OutgoingRequestError('the answer is larger than allowed');
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body) {
      const buffer = chunk as Buffer;
      total += buffer.byteLength;
      if (total > options.maxBodyBytes) {
        response.body.destroy();
        throw new OutgoingRequestError('the answer is larger than allowed');
      }
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof OutgoingRequestError) throw error;
    throw new OutgoingRequestError('the answer could not be read or timed out', { cause: error });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch (error) {
    throw new OutgoingRequestError('the answer is not UTF-8', { cause: error });
  }
  return { status: response.statusCode, headers: response.headers, text };
}

/** A JSON object from a 200 answer, or an OutgoingRequestError. */
export async function fetchJsonObject(
  url: string | URL,
  options: Omit<BoundedRequest, 'method' | 'body'>,
): Promise<Record<string, unknown>> {
  const { status, text } = await boundedRequest(url, {
    ...options,
    headers: { accept: 'application/json', ...options.headers },
  });
  if (status !== 200) throw new OutgoingRequestError(`the server answered ${status}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new OutgoingRequestError('the answer is not JSON', { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new OutgoingRequestError('the answer is not a JSON object');
  }
  return parsed as Record<string, unknown>;
}
