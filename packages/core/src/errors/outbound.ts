import { TesseraError, type TesseraErrorOptions } from './base.js';

/**
 * Why an outgoing request (to a JWKS, an issuer's metadata, a token endpoint, a back channel,
 * another service) brought back no usable answer. Its message names the target by origin and
 * path only, never its query or userinfo, and never a header or a body sent.
 */
export const outboundErrorCodes = {
  ERR_OUTBOUND_UNREACHABLE: 'No answer: the connection was refused, reset or could not be made.',
  ERR_OUTBOUND_TIMEOUT: 'The answer, headers and body, did not arrive within the deadline.',
  ERR_OUTBOUND_TOO_LARGE: 'The answer body is larger than allowed (declared or counted).',
  ERR_OUTBOUND_REDIRECT: 'The answer is a redirect: redirects are never followed.',
  ERR_OUTBOUND_INVALID_ANSWER:
    'The answer is not what was asked for: an unexpected status, not UTF-8, not a JSON object, or metadata naming another issuer.',
} as const;

export type OutboundErrorCode = keyof typeof outboundErrorCodes;

export class OutboundError extends TesseraError<OutboundErrorCode> {
  constructor(code: OutboundErrorCode, message: string, options: TesseraErrorOptions = {}) {
    // A peer that failed us is the server's problem, not the caller's: 502, the detail in the log.
    super(code, message, { status: code === 'ERR_OUTBOUND_TIMEOUT' ? 504 : 502, expose: false, ...options });
  }
}
