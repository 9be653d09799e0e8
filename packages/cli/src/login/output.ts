import { open } from 'node:fs/promises';
import type { Tokens } from './loopback.js';

/** What `tessera login` writes: the access token alone, or (`--json`) the token response. */
export function tokenOutput(tokens: Tokens, json: boolean): string {
  if (!json) return `${tokens.access_token}\n`;
  const { access_token, token_type, expires_in, scope, refresh_token, id_token } = tokens;
  return `${JSON.stringify({ access_token, token_type, expires_in, scope, refresh_token, id_token }, null, 2)}\n`;
}

/**
 * Writes a token file readable by its owner only: the mode is set to 0600 before anything is
 * written, so a file that already existed with a wider mode never holds the token readable.
 */
export async function writeTokenFile(file: string, content: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'w', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(`--out ${file} cannot be written (${code})`);
  }
  try {
    await handle.chmod(0o600);
    await handle.writeFile(content, 'utf8');
  } finally {
    await handle.close();
  }
}
