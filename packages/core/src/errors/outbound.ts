import type { ErrorCodeEntry } from './base.js';
import { errorFamily } from './family.js';

/**
 * Why an outgoing request (to a JWKS, an issuer's metadata, a token endpoint, a back channel,
 * another service) brought back no usable answer. Its message names the target by origin and
 * path only, never its query or userinfo, and never a header or a body sent.
 */
export const outboundErrorCodes = {
  ERR_OUTBOUND_UNREACHABLE: {
    status: 502,
    meaning: 'No answer: the connection was refused, reset or could not be made.',
  },
  ERR_OUTBOUND_TIMEOUT: {
    status: 504,
    meaning: 'The answer, headers and body, did not arrive within the deadline.',
  },
  ERR_OUTBOUND_TOO_LARGE: {
    status: 502,
    meaning: 'The answer body is larger than allowed (declared or counted).',
  },
  ERR_OUTBOUND_REDIRECT: { status: 502, meaning: 'The answer is a redirect: redirects are never followed.' },
  ERR_OUTBOUND_INVALID_ANSWER: {
    status: 502,
    meaning:
      'The answer is not what was asked for: an unexpected status, not UTF-8, not a JSON object, or metadata naming another issuer.',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type OutboundErrorCode = keyof typeof outboundErrorCodes;

// A peer that failed us is the server's problem, not the caller's: 502 (504 for a timeout), the detail in the log.
export class OutboundError extends errorFamily(outboundErrorCodes, { expose: false }) {}
