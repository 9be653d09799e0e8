import { type RawAnswer, rawRequest } from '../../../../test/support/raw-http.js';

/** A GET with exactly the header lines given (fetch would merge a repeated header into one). */
export function rawGet(url: string, headers: Record<string, string | string[]>): Promise<RawAnswer> {
  const target = new URL(url);
  return rawRequest(target.origin, `${target.pathname}${target.search}`, { headers });
}
