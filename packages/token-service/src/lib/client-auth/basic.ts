import { invalidClient } from '../oauth-error.js';

export interface BasicCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function formDecode(value: string): string {
  // RFC 6749 2.3.1: id and secret are application/x-www-form-urlencoded before Base64. Most have
  // nothing encoded, and this runs on every token request.
  if (value.indexOf('%') === -1 && value.indexOf('+') === -1) return value;
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

// One decoder for every call: decode() without `stream` keeps no state between calls.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The client id and secret of an `Authorization: Basic` header (RFC 6749 2.3.1, RFC 7617). A
 * header that is not valid Base64, not UTF-8, has no `:`, or bad percent-escapes is an
 * invalid_client (401) — never a crash.
 */
export function parseBasicCredentials(token: string): BasicCredentials {
  const trimmed = token.trim();
  if (trimmed.length === 0 || trimmed.length > 4096 || trimmed.length % 4 !== 0 || !BASE64.test(trimmed)) {
    throw invalidClient('malformed Basic credentials');
  }
  let decoded: string;
  try {
    decoded = strictUtf8.decode(Buffer.from(trimmed, 'base64'));
  } catch {
    throw invalidClient('malformed Basic credentials');
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient('malformed Basic credentials');
  let clientId: string;
  let clientSecret: string;
  try {
    clientId = formDecode(decoded.slice(0, colon));
    clientSecret = formDecode(decoded.slice(colon + 1));
  } catch {
    throw invalidClient('malformed Basic credentials');
  }
  if (clientId.length === 0) throw invalidClient('malformed Basic credentials');
  return { clientId, clientSecret };
}
