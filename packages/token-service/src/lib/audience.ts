import type { FormBody } from './form-body.js';
import { OAuthError } from './oauth-error.js';

function invalidTarget(description: string): OAuthError {
  return new OAuthError('invalid_target', description);
}

function checkResource(value: string): void {
  // RFC 8707 2: an absolute URI without a fragment.
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidTarget('resource must be an absolute URI');
  }
  if (value.includes('#') || url.hash !== '') throw invalidTarget('resource must not have a fragment');
}

/**
 * The `aud` of a token: the requested `resource` (RFC 8707) and `audience` (RFC 8693) values,
 * each of which must be one of `allowed` (the client's registered audiences), or all of `allowed`
 * when none is requested. Throws invalid_target otherwise. May be empty when nothing is allowed.
 */
export function resolveAudience(form: FormBody, allowed: readonly string[]): string[] {
  const resources = form.getAll('resource');
  for (const resource of resources) checkResource(resource);
  const requested = [...new Set([...resources, ...form.getAll('audience')])];
  if (requested.length === 0) return [...allowed];
  for (const audience of requested) {
    if (!allowed.includes(audience)) throw invalidTarget('a requested resource or audience is not permitted');
  }
  return requested;
}
