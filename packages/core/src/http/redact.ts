/**
 * A URL or request target safe to log: userinfo dropped and the value of any `access_token`
 * parameter replaced. Our servers refuse tokens in URLs, but a framework logs the URL before
 * anyone refuses it (docs/security.md G 91).
 */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1')
    .replace(/([?&]access_token=)[^&#]*/gi, '$1[redacted]');
}
