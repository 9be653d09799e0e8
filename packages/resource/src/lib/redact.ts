/**
 * A request target safe to log: the value of any `access_token` parameter replaced. This library
 * refuses tokens in URLs, but a framework logs the URL before anyone refuses it (G 91).
 */
export function redactUrl(url: string): string {
  return url.replace(/([?&]access_token=)[^&#]*/gi, '$1[redacted]');
}
