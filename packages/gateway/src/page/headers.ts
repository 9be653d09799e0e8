/**
 * The page's Content-Security-Policy: its own script and stylesheet only, nothing inline, fetch to
 * its own origin, forms posted only to it, never framed. Sign-in by redirect is a top-level
 * navigation (`location.assign`), which no CSP directive restricts, so every login method shares it.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const common = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/** Headers of the HTML page: the CSP, and never cached (it reflects the gateway's config). */
export const pageHeaders: Readonly<Record<string, string>> = Object.freeze({
  ...common,
  'content-security-policy': PAGE_CSP,
  'cache-control': 'no-store',
});

/** Headers of an asset: revalidated on every use, so a new version is never mixed with an old page. */
export const assetHeaders: Readonly<Record<string, string>> = Object.freeze({
  ...common,
  'cache-control': 'no-cache',
});
