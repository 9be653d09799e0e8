import { TokenError } from '../errors/token.js';

/** The three parts of a compact JWS, still encoded, located by their dots. */
export interface CompactParts {
  readonly header: string;
  readonly payload: string;
  readonly signature: string;
  /** The signing input: the token up to (excluding) the second dot. */
  readonly signingInput: string;
}

// One linear pass over the charset and the shape: no padding, no whitespace, exactly two dots.
// The signature may be empty here so that an unsigned ("alg": "none") token reaches the header
// check and is refused with its own code.
const compactShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function malformed(message: string): TokenError {
  return new TokenError('ERR_JWT_MALFORMED', message);
}

/** Splits a compact JWS after the cheap checks: type, length, shape. No decoding yet. */
export function splitCompact(token: unknown, maxLength: number): CompactParts {
  if (typeof token !== 'string') throw malformed('the token is not a string');
  if (token.length > maxLength) throw new TokenError('ERR_JWT_TOO_LARGE');
  if (!compactShape.test(token)) throw malformed('the token is not three base64url parts');
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  const header = token.slice(0, first);
  const payload = token.slice(first + 1, second);
  const signature = token.slice(second + 1);
  // A base64url string of length 4n+1 encodes no whole byte: it is not an encoding at all.
  if (header.length % 4 === 1 || payload.length % 4 === 1 || signature.length % 4 === 1) {
    throw malformed('a part of the token is not valid base64url');
  }
  return { header, payload, signature, signingInput: token.slice(0, second) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes one base64url part into a JSON object (not an array, not null), else ERR_JWT_MALFORMED.
 * `scratch`, when given, must hold at least 3/4 of the part's length; it saves an allocation.
 */
export function decodeJsonObject(
  part: string,
  what: 'header' | 'payload',
  scratch?: Buffer,
): Record<string, unknown> {
  let value: unknown;
  try {
    const bytes =
      scratch === undefined
        ? Buffer.from(part, 'base64url')
        : scratch.subarray(0, scratch.write(part, 0, 'base64url'));
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    throw malformed(`the ${what} is not UTF-8 JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(`the ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
