/**
 * The page's Content-Security-Policy: its own script and stylesheet only, nothing inline, fetch to
 * its own origin (and, when the page signs users in itself in token mode, to the token service's
 * origin: discovery, the code exchange, userinfo, revocation), forms posted only to it, never
 * framed. Sign-in by redirect is a top-level navigation (`location.assign`), which no CSP
 * directive restricts, so every login method shares it.
 */
export function pageCsp(connectOrigins: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    ['connect-src', "'self'", ...connectOrigins].join(' '),
    "img-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** The policy of a page that talks to its own origin only. */
export const PAGE_CSP = pageCsp();

const common = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/** Headers of the HTML page: the CSP, and never cached (it reflects the gateway's config). */
export function pageHeaders(csp: string = PAGE_CSP): Readonly<Record<string, string>> {
  return Object.freeze({ ...common, 'content-security-policy': csp, 'cache-control': 'no-store' });
}

/** Headers of an asset: revalidated on every use, so a new version is never mixed with an old page. */
export const assetHeaders: Readonly<Record<string, string>> = Object.freeze({
  ...common,
  'cache-control': 'no-cache',
});

/**
 * The comparison report's CSP. The report is one self-contained file with inline script and
 * style, so `script-src 'self'` cannot serve it; it runs sandboxed without `allow-same-origin`
 * instead: an opaque origin, so it can read none of the gateway's cookies or storage, and it may
 * fetch nothing at all.
 */
export const REPORT_CSP = [
  'sandbox allow-scripts',
  "default-src 'none'",
  "script-src 'unsafe-inline'",
  "style-src 'unsafe-inline'",
  'img-src data:',
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Headers of the comparison report: its sandbox, and never cached (a new run replaces it). */
export const reportHeaders: Readonly<Record<string, string>> = Object.freeze({
  ...common,
  'content-security-policy': REPORT_CSP,
  'cache-control': 'no-store',
});
