import { type Browser, parseForm } from '../../packages/compare/dist/credentials.js';

/**
 * The cookie-keeping browser that drives the login forms over real HTTP (never following a
 * redirect by itself) and the form reader are compare's, which signs its users in the same way:
 * one implementation, run from its build.
 */
export { Browser, type ParsedForm, parseForm } from '../../packages/compare/dist/credentials.js';

/** GET /authorize, fill in the login form, and return the final redirect's Location. */
export async function signIn(
  browser: Browser,
  authorizeUrl: string | URL,
  username: string,
  password: string,
): Promise<{ location: URL; response: Response }> {
  const page = await browser.fetch(authorizeUrl);
  if (page.status !== 200) throw new Error(`authorize answered ${page.status}`);
  const { action, fields } = parseForm(await page.text());
  const response = await browser.post(String(authorizeUrl), action, {
    ...fields,
    username,
    password,
    action: 'login',
  });
  const location = response.headers.get('location');
  if (location === null) throw new Error(`login answered ${response.status} without a redirect`);
  return { location: new URL(location), response };
}
