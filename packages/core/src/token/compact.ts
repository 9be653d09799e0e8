import { TokenError } from '../errors/token.js';

/** The three parts of a compact JWS, still encoded, located by their dots. */
export interface CompactParts {
  readonly header: string;
  readonly payload: string;
  readonly signature: string;
  /** The length of the signing input: the token up to (excluding) the second dot. */
  readonly signingInputLength: number;
}

export function malformed(message: string): TokenError {
  return new TokenError('ERR_JWT_MALFORMED', message);
}

/**
 * Splits a compact JWS after the cheap checks: type, length, exactly two dots, a header and a
 * payload. The characters of each part are checked where the part is decoded (`decodeBase64url`,
 * and the header's once per distinct header), which is one pass instead of a second one here.
 * The signature may be empty here so that an unsigned ("alg": "none") token reaches the header
 * check and is refused with its own code.
 */
export function splitCompact(token: unknown, maxLength: number): CompactParts {
  if (typeof token !== 'string') throw malformed('the token is not a string');
  if (token.length > maxLength) throw new TokenError('ERR_JWT_TOO_LARGE');
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (first <= 0 || second <= first + 1 || token.indexOf('.', second + 1) !== -1) {
    throw malformed('the token is not three base64url parts');
  }
  const header = token.slice(0, first);
  const payload = token.slice(first + 1, second);
  const signature = token.slice(second + 1);
  // A base64url string of length 4n+1 encodes no whole byte: it is not an encoding at all.
  if (header.length % 4 === 1 || payload.length % 4 === 1 || signature.length % 4 === 1) {
    throw malformed('a part of the token is not valid base64url');
  }
  return { header, payload, signature, signingInputLength: second };
}

const base64urlPart = /^[A-Za-z0-9_-]+$/;

// The value of each base64url character, by char code (0xff: not in the alphabet).
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const sextetOf = new Uint8Array(128).fill(0xff);
for (let i = 0; i < alphabet.length; i++) sextetOf[alphabet.charCodeAt(i)] = i;
// The bits of a part's last character that encode no byte, by the part's length mod 4: a part of
// 4n+2 characters ends in 4 such bits, one of 4n+3 in 2. Decoders ignore them, so a last character
// with any of them set is another spelling of the same bytes (a 'Q' for an 'R' at 4n+2); only
// zeros is the canonical encoding (RFC 4648 3.5).
const unusedBits = [0, 0, 0x0f, 0x03] as const;

/**
 * Whether the part's last character leaves the bits no byte uses at zero: one table lookup, not
 * a re-encode, as this is on verify's hot path. The characters themselves are checked elsewhere.
 */
function endsCanonically(part: string): boolean {
  const mask = unusedBits[part.length & 3] ?? 0;
  if (mask === 0) return true;
  return ((sextetOf[part.charCodeAt(part.length - 1)] ?? 0xff) & mask) === 0;
}

/**
 * Decodes one unpadded base64url part into `scratch` (which must hold 3/4 of its length) and
 * returns how many bytes it wrote, refusing anything but the base64url alphabet. Node's decoder
 * is lenient: it also takes `+` and `/`, skips whitespace and anything outside the alphabet, and
 * stops at `=`.
 * So a part is strict exactly when it has no `+` or `/` and decodes to floor(3/4 of its length)
 * bytes: with the length not 4n+1 (refused by splitCompact), every skipped or stopping character
 * makes that count fall short. It is canonical when, besides, its last character's unused bits
 * are zero. Two indexOf scans and the decode itself, instead of a regular
 * expression over the whole token: that was about half a microsecond per RS256 token.
 */
export function decodeBase64url(part: string, what: string, scratch: Buffer): number {
  if (part.indexOf('+') !== -1 || part.indexOf('/') !== -1) {
    throw malformed(`the ${what} is not valid base64url`);
  }
  const written = scratch.write(part, 0, 'base64url');
  if (written !== Math.floor((part.length * 3) / 4) || !endsCanonically(part)) {
    throw malformed(`the ${what} is not valid base64url`);
  }
  return written;
}

// ignoreBOM keeps a byte order mark in the text (where JSON.parse refuses it) instead of dropping
// it, so the strict path refuses it exactly as the common one does.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The first `length` bytes of `bytes` as UTF-8 text, refusing malformed UTF-8. The common case
 * takes Buffer's decoder, which writes U+FFFD for a malformed sequence instead of failing, and
 * needs no view of the bytes; only text holding U+FFFD (malformed, or that character sent as such)
 * is decoded again strictly.
 */
function utf8Text(bytes: Buffer, length: number): string {
  const text = bytes.toString('utf8', 0, length);
  return text.includes('\uFFFD') ? strictUtf8.decode(bytes.subarray(0, length)) : text;
}

/**
 * Parses the first `length` decoded bytes as a UTF-8 JSON object (not an array, not null), else
 * ERR_JWT_MALFORMED.
 */
export function parseJsonObject(
  bytes: Buffer,
  length: number,
  what: 'header' | 'payload',
): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8Text(bytes, length));
  } catch {
    throw malformed(`the ${what} is not UTF-8 JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(`the ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** A header part, checked strictly (it is seen once per distinct header: the verifier caches it). */
export function decodeHeader(part: string): Record<string, unknown> {
  if (!base64urlPart.test(part) || !endsCanonically(part)) {
    throw malformed('the header is not valid base64url');
  }
  const bytes = Buffer.from(part, 'base64url');
  return parseJsonObject(bytes, bytes.length, 'header');
}
