import table from './codes.json' with { type: 'json' };
import { type ErrorCodes, errorFamily } from './family.js';

/**
 * Why an outgoing request (to a JWKS, an issuer's metadata, a token endpoint, a back channel,
 * another service) brought back no usable answer. Its message names the target by origin and
 * path only, never its query or userinfo, and never a header or a body sent.
 */
export const outboundErrorCodes: ErrorCodes<keyof typeof table.outbound> = table.outbound;

export type OutboundErrorCode = keyof typeof outboundErrorCodes;

// A peer that failed us is the server's problem, not the caller's: 502 (504 for a timeout), the detail in the log.
export class OutboundError extends errorFamily(outboundErrorCodes, { expose: false }) {}
