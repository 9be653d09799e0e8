const unreserved = /^[A-Za-z0-9\-._~]$/;

/**
 * A URL as RFC 9449 4.3 compares `htu`: without query and fragment, after RFC 3986 6.2.2 and 6.2.3
 * normalisation (scheme and host in lower case, the default port dropped, an empty path as `/`,
 * dot segments removed, percent-encodings of unreserved characters decoded and the others in
 * upper case). Undefined for anything but an absolute http(s) URL without user information.
 */
export function normalizeHtu(value: string): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 8192) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  const path = url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => {
    const character = String.fromCharCode(Number.parseInt(hex, 16));
    return unreserved.test(character) ? character : `%${hex.toUpperCase()}`;
  });
  return `${url.protocol}//${url.host}${path}`;
}
