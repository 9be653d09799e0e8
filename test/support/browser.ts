/**
 * A tiny browser for driving the login form over real HTTP: keeps cookies, never follows
 * redirects by itself, and reads forms out of the server-rendered HTML.
 */
export class Browser {
  readonly cookies = new Map<string, string>();

  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    }
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (attributes.some((a) => /^\s*max-age=0$/i.test(a)) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** POSTs a form (application/x-www-form-urlencoded) to a path of `base`. */
  post(base: string, action: string, fields: Record<string, string>): Promise<Response> {
    return this.fetch(new URL(action, base), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

export interface ParsedForm {
  readonly action: string;
  readonly fields: Record<string, string>;
}

const unescapeHtml = (value: string): string =>
  value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#96;/g, '`')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The first form of a page: its action and its hidden fields. */
export function parseForm(html: string): ParsedForm {
  const form = /<form method="post" action="([^"]*)">/.exec(html);
  if (form === null) throw new Error('no form on the page');
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[match[1] as string] = unescapeHtml(match[2] as string);
  }
  return { action: unescapeHtml(form[1] as string), fields };
}

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
