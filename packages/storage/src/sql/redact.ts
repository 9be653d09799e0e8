/** Where a PostgreSQL URL points, without user or password: safe for a message. */
export function describePostgresTarget(url: URL): string {
  const host = url.hostname === '' ? 'localhost' : url.hostname;
  const port = url.port === '' ? '5432' : url.port;
  return `PostgreSQL at ${host}:${port}${url.pathname}`;
}

/** The secrets of a URL in every spelling a driver might echo (as written and percent-decoded). */
export function secretsOf(url: URL): readonly string[] {
  if (url.password === '') return [];
  const secrets = new Set([url.password]);
  try {
    secrets.add(decodeURIComponent(url.password));
  } catch {
    // A malformed escape: only the raw spelling can appear.
  }
  return [...secrets];
}

/** Replaces every secret in a text; drivers have been known to echo connection strings. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join('***');
  }
  return out;
}
