import { genericMessage, type TesseraError } from './base.js';
import { toTesseraError } from './framework.js';

/** The one JSON error body (`json` and `bearer`): the code, and a message a client may read. */
export interface JsonErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/** RFC 6749 5.2: `error` is one of the registered values, `error_description` plain ASCII. */
export interface OAuthErrorBody {
  readonly error: string;
  readonly error_description?: string;
}

/**
 * An RFC 6750 3 challenge: the authentication scheme (`Bearer`; the session source's
 * `TesseraSession`; room for `DPoP`) and, when the part names one, its realm.
 */
export interface BearerProtocol {
  readonly scheme: string;
  readonly realm?: string;
  /** The source's own auth-params, carried by every challenge (`algs="EdDSA ES256"` for DPoP, RFC 9449 7.1). */
  readonly parameters?: string;
}

/**
 * How a part answers errors: `oauth` at the token service (RFC 6749 5.2), a `BearerProtocol`
 * at a resource server (the `json` body plus RFC 6750 3 `WWW-Authenticate`), `json` everywhere else.
 */
export type AnswerProtocol = 'json' | 'oauth' | BearerProtocol;

/** The bearer protocol of a resource server with no realm. */
export const bearerProtocol: BearerProtocol = Object.freeze({ scheme: 'Bearer' });

/** An error as it goes on the wire. */
export interface ErrorAnswer<Body = JsonErrorBody | OAuthErrorBody> {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Body;
  /** What was answered, as the hierarchy has it: the code for a log line or a metric, the cause for the log. */
  readonly error: TesseraError;
}

// RFC 6749 5.2 and RFC 6750 3: error_description and scope are limited to %x20-21 / %x23-5B / %x5D-7E.
const DESCRIPTION_FORBIDDEN = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;

/** Makes any text a valid `error_description`: forbidden characters become `?`, length capped. */
export function sanitizeDescription(text: string): string {
  return text.replace(DESCRIPTION_FORBIDDEN, '?').slice(0, 300);
}

function quoted(value: string): string {
  return `"${value.replace(DESCRIPTION_FORBIDDEN, '')}"`;
}

function messageOf(error: TesseraError): string {
  return error.expose ? error.message : genericMessage(error.status);
}

/** The headers every error answer carries, then the protocol's, then the error's own. */
function headersOf(error: TesseraError, own: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    // An error is about this request only: no cache may keep it (a 404 is cacheable by default).
    'cache-control': 'no-store',
    ...own,
  };
  if (error.status === 503) headers['retry-after'] = '5';
  return Object.assign(headers, error.headers);
}

function jsonBody(error: TesseraError): JsonErrorBody {
  return { error: { code: error.code, message: messageOf(error) } };
}

// RFC 6750 3.1: a request with no credentials (for this realm) gets a challenge without an error code.
const unauthenticated: ReadonlySet<string> = new Set(['ERR_AUTH_REQUIRED', 'ERR_METRICS_UNAUTHORIZED']);

/** The RFC 6750 3.1 error code of a refusal, null for a challenge without one, undefined for no challenge. */
function challengeErrorOf(error: TesseraError): string | null | undefined {
  if (unauthenticated.has(error.code)) return null;
  // A DPoP refusal (RFC 9449 7.1) names its own error: invalid_dpop_proof, use_dpop_nonce, invalid_token.
  const { oauthError } = error as { readonly oauthError?: unknown };
  if (error.code.startsWith('ERR_DPOP_') && typeof oauthError === 'string') return oauthError;
  if (error.code === 'ERR_AUTH_INVALID_REQUEST') return 'invalid_request';
  if (error.code === 'ERR_AUTH_INSUFFICIENT_SCOPE') return 'insufficient_scope';
  // Every other refusal of the credential presented: a token or session reference not accepted.
  if (error.status === 401) return 'invalid_token';
  return undefined;
}

function challengeOf(error: TesseraError, protocol: BearerProtocol): string | undefined {
  const wire = challengeErrorOf(error);
  if (wire === undefined) return undefined;
  const params = protocol.realm === undefined ? [] : [`realm=${quoted(protocol.realm)}`];
  if (protocol.parameters !== undefined) params.push(protocol.parameters);
  if (wire !== null) params.push(`error="${wire}"`, `error_description=${quoted(messageOf(error))}`);
  const { scope } = error as { readonly scope?: unknown };
  if (wire === 'insufficient_scope' && Array.isArray(scope) && scope.length > 0) {
    params.push(`scope=${quoted(scope.join(' '))}`);
  }
  return params.length === 0 ? protocol.scheme : `${protocol.scheme} ${params.join(', ')}`;
}

/**
 * What the token service's OAuthError adds to an error of the hierarchy: its RFC 6749 5.2
 * `error` value and the description (if any) to send with it.
 */
interface OAuthFields {
  readonly oauthError?: unknown;
  readonly description?: unknown;
}

function oauthErrorOf(error: TesseraError): string {
  const { oauthError } = error as OAuthFields;
  if (typeof oauthError === 'string') return oauthError;
  if (error.status === 503) return 'temporarily_unavailable';
  if (error.status >= 500) return 'server_error';
  return 'invalid_request';
}

function oauthBody(error: TesseraError): OAuthErrorBody {
  const wire = oauthErrorOf(error);
  if (!error.expose) return { error: wire };
  const { oauthError, description } = error as OAuthFields;
  // An OAuthError says itself whether it has a description; any other error's message is one.
  const text = typeof oauthError === 'string' ? description : error.message;
  return typeof text === 'string'
    ? { error: wire, error_description: sanitizeDescription(text) }
    : { error: wire };
}

// RFC 6749 5.2: invalid_client answered 401 names the scheme the client may authenticate with.
const basicChallenge = 'Basic realm="tessera", charset="UTF-8"';

/**
 * The one way any error becomes an HTTP answer: status, headers and body in the protocol's wire
 * format. Whatever is not of the hierarchy is first made one (`toTesseraError`: a framework's
 * refusal of the input as its `ERR_HTTP_*` code, anything else `ERR_INTERNAL`), so an unknown
 * error is a 500 with a generic body and its detail stays in `answer.error.cause` for the log.
 * Only messages of exposable errors reach a body, never a stack, a cause or a credential.
 */
export function answerFor(error: unknown, protocol?: 'json' | BearerProtocol): ErrorAnswer<JsonErrorBody>;
export function answerFor(error: unknown, protocol: 'oauth'): ErrorAnswer<OAuthErrorBody>;
export function answerFor(error: unknown, protocol: AnswerProtocol): ErrorAnswer;
export function answerFor(error: unknown, protocol: AnswerProtocol = 'json'): ErrorAnswer {
  const known = toTesseraError(error);
  if (protocol === 'oauth') {
    const own: Record<string, string> = { pragma: 'no-cache' };
    if (known.status === 401 && oauthErrorOf(known) === 'invalid_client')
      own['www-authenticate'] = basicChallenge;
    return { status: known.status, headers: headersOf(known, own), body: oauthBody(known), error: known };
  }
  const own: Record<string, string> = {};
  if (protocol !== 'json') {
    const challenge = challengeOf(known, protocol);
    if (challenge !== undefined) own['www-authenticate'] = challenge;
  }
  return { status: known.status, headers: headersOf(known, own), body: jsonBody(known), error: known };
}
