import { isTesseraError, toNqschar } from '@tessera/core';
import { PolicyRefusal } from './decide.js';

/** A refusal as it goes on the wire (RFC 6750 3): status, headers and a JSON body. */
export interface AuthAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: {
    readonly error?: string;
    readonly error_description: string;
    readonly code: string;
  };
}

function quoted(value: string): string {
  // RFC 6750 3: error_description and scope use %x20-21 / %x23-5B / %x5D-7E.
  return `"${toNqschar(value)}"`;
}

/** One challenge: the scheme, then the source's own auth-params and the answer's, comma-separated. */
function challenge(scheme: string, sourceParameters: string | undefined, ...parameters: string[]): string {
  const all = sourceParameters === undefined ? parameters : [sourceParameters, ...parameters];
  return all.length === 0 ? scheme : `${scheme} ${all.join(', ')}`;
}

/** The RFC 9449 error code of a DPoP refusal (core's DpopError, from any copy of core). */
function dpopErrorOf(error: { readonly code: string }): string | undefined {
  const oauthError = (error as { oauthError?: unknown }).oauthError;
  return error.code.startsWith('ERR_DPOP_') && typeof oauthError === 'string' ? oauthError : undefined;
}

/**
 * The answer for any error an identity source, verifier or policy throws. Only messages of the
 * error hierarchy marked exposable reach the body, never a stack, a cause or a token; anything
 * else is a bare 500. `parameters` are the source's own auth-params (`algs="..."` for DPoP, RFC
 * 9449 7.1), carried by every challenge; a DPoP refusal answers 401 with its RFC 9449 code
 * (`invalid_dpop_proof`, `use_dpop_nonce`, or `invalid_token` for a binding that does not hold).
 */
export function answerFor(error: unknown, scheme = 'Bearer', parameters?: string): AuthAnswer {
  if (!isTesseraError(error)) {
    return {
      status: 500,
      headers: {},
      body: { error: 'server_error', error_description: 'internal error', code: 'ERR_INTERNAL' },
    };
  }
  const description = error.expose ? error.message : 'temporarily unavailable';
  if (error.code === 'ERR_AUTH_REQUIRED') {
    return {
      status: 401,
      headers: { 'www-authenticate': challenge(scheme, parameters) },
      body: { error_description: description, code: error.code },
    };
  }
  if (error.code === 'ERR_AUTH_INVALID_REQUEST') {
    return {
      status: 400,
      headers: {
        'www-authenticate': challenge(
          scheme,
          parameters,
          'error="invalid_request"',
          `error_description=${quoted(description)}`,
        ),
      },
      body: { error: 'invalid_request', error_description: description, code: error.code },
    };
  }
  if (error.code === 'ERR_AUTH_INSUFFICIENT_SCOPE') {
    const missing = error instanceof PolicyRefusal ? error.missingScopes : [];
    const scope = missing.length > 0 ? `, scope=${quoted(missing.join(' '))}` : '';
    return {
      status: 403,
      headers: {
        'www-authenticate': `${challenge(scheme, parameters, 'error="insufficient_scope"', `error_description=${quoted(description)}`)}${scope}`,
      },
      body: { error: 'insufficient_scope', error_description: description, code: error.code },
    };
  }
  if (error.status === 401) {
    const code = dpopErrorOf(error) ?? 'invalid_token';
    return {
      status: 401,
      headers: {
        'www-authenticate': challenge(
          scheme,
          parameters,
          `error="${code}"`,
          `error_description=${quoted(description)}`,
        ),
      },
      body: { error: code, error_description: description, code: error.code },
    };
  }
  if (error.status === 503) {
    return {
      status: 503,
      headers: { 'retry-after': '5' },
      body: { error: 'temporarily_unavailable', error_description: description, code: error.code },
    };
  }
  return {
    status: 500,
    headers: {},
    body: { error: 'server_error', error_description: 'internal error', code: 'ERR_INTERNAL' },
  };
}
