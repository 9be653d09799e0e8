// RFC 6749 appendix A: NQCHAR = %x21 / %x23-5B / %x5D-7E (printable ASCII without `"` and `\`),
// NQSCHAR = NQCHAR and the space. A scope token is 1*NQCHAR (A.4), an error code and its
// description 1*NQSCHAR (A.7, A.8): the characters that survive a quoted-string unescaped.
const scopeToken = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const oauthErrorCode = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,64}$/;
const notNqschar = /[^\x20\x21\x23-\x5B\x5D-\x7E]/g;

/** A scope-token of RFC 6749 3.3. */
export function isScopeToken(value: string): boolean {
  return scopeToken.test(value);
}

/** An `error` code another server sent (RFC 6749 5.2), safe to repeat: NQSCHAR only, at most 64 long. */
export function isOAuthErrorCode(value: unknown): value is string {
  return typeof value === 'string' && oauthErrorCode.test(value);
}

/** `text` with every character outside NQSCHAR replaced (an error_description, a quoted parameter). */
export function toNqschar(text: string, replacement = ''): string {
  return text.replace(notNqschar, replacement);
}
