import { bodyRefusal, HttpError, readBody } from '@tessera/core';
import type { FastifyInstance } from 'fastify';
import { OAuthError } from './oauth-error.js';

/**
 * A parsed `application/x-www-form-urlencoded` body that remembers which parameters were repeated:
 * RFC 6749 3.1/3.2 say a parameter must not be included more than once, so an endpoint refuses
 * those, while unknown parameters are simply ignored.
 */
export class FormBody {
  readonly #values = new Map<string, string[]>();
  readonly #repeated: string[] = [];

  constructor(text: string) {
    for (const [name, value] of new URLSearchParams(text)) {
      const values = this.#values.get(name);
      if (values === undefined) {
        this.#values.set(name, [value]);
        continue;
      }
      values.push(value);
      if (!this.#repeated.includes(name)) this.#repeated.push(name);
    }
  }

  /** The value of a parameter; an empty value counts as absent (RFC 6749 3.1). */
  get(name: string): string | undefined {
    const value = this.#values.get(name)?.[0];
    return value === undefined || value.length === 0 ? undefined : value;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Every non-empty value of a parameter that may be repeated (RFC 8707 `resource`, RFC 8693 `audience`). */
  getAll(name: string): string[] {
    return (this.#values.get(name) ?? []).filter((value) => value.length > 0);
  }

  /** Names of the parameters sent more than once. */
  get repeated(): readonly string[] {
    return this.#repeated;
  }

  /** Every parameter name sent. */
  names(): IterableIterator<string> {
    return this.#values.keys();
  }
}

/** Default largest accepted body: an OAuth request is a few hundred bytes; 64 KiB leaves room for JWTs. */
export const defaultBodyLimit = 64 * 1024;

// Percent-decoding a malformed escape would throw in decodeURIComponent; URLSearchParams never
// throws, but a body that is not UTF-8 text is still a client error worth naming.
function checkText(text: string): void {
  if (text.includes('\uFFFD')) throw new HttpError('ERR_HTTP_BODY_INVALID', 'the body is not valid UTF-8');
}

/** Default time a form body may take to arrive after its headers. */
export const defaultBodyTimeoutMs = 10_000;

/**
 * Installs the form parser. A body is read whole within `bodyLimit` bytes (declared or counted:
 * 413 `ERR_HTTP_BODY_TOO_LARGE`) and `bodyTimeoutMs` (408 `ERR_HTTP_REQUEST_TIMEOUT`), so a client
 * trickling a form holds a socket for that long and no longer; both refusals close the connection.
 */
export function registerFormBodyParser(app: FastifyInstance, bodyLimit: number, bodyTimeoutMs: number): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', (request, payload, done) => {
    const declared = request.headers['content-length'];
    readBody(payload, {
      limit: bodyLimit,
      timeoutMs: bodyTimeoutMs,
      declaredLength: declared === undefined ? undefined : Number(declared),
    }).then(
      (read) => {
        if (!read.ok) {
          done(bodyRefusal(read.reason), undefined);
          return;
        }
        try {
          const text = read.body.toString('utf8');
          checkText(text);
          done(null, new FormBody(text));
        } catch (error) {
          done(
            error instanceof Error
              ? error
              : new HttpError('ERR_HTTP_BODY_INVALID', 'the form cannot be read'),
            undefined,
          );
        }
      },
      // The client went away mid-body: nobody is left to answer.
      (error: Error) => done(error, undefined),
    );
  });
}

/** The request's form body, or invalid_request when the request did not send one. */
export function requireFormBody(body: unknown): FormBody {
  if (body instanceof FormBody) return body;
  throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded');
}

/**
 * Refuses a body with a repeated parameter (RFC 6749 3.2), except the ones listed, which their
 * own RFC lets a client repeat (`resource`, RFC 8707 2; `audience`, RFC 8693 2.1).
 */
export function rejectRepeatedParameters(form: FormBody, repeatable: readonly string[] = []): void {
  const first = form.repeated.find((name) => !repeatable.includes(name));
  if (first !== undefined) {
    throw new OAuthError('invalid_request', `parameter ${first} must not be repeated`);
  }
}
