import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cookiePair, jsonBody, send } from './support/http.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const children: ChildProcess[] = [];

/** Starts an example as a user would run it (by package name, from dist/) and returns its URL. */
async function start(file: string): Promise<string> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL(`./examples/${file}`, import.meta.url).pathname],
    {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`example exited (${code}): ${output}`)));
  });
}

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
});

describe('README examples', () => {
  it.each(['fastify-example.ts', 'express-example.ts'])('quotes %s verbatim', (file) => {
    const source = readFileSync(new URL(`./examples/${file}`, import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${source}\`\`\``);
  });

  it('the Fastify example runs: login, read, CSRF-protected update, logout', async () => {
    const base = await start('fastify-example.ts');
    const { headers, body } = jsonBody({ user: 'alice' });
    const login = await send(`${base}/login`, { method: 'POST', headers, body });
    expect(login.setCookie).toMatch(
      /^tessera-sid=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Lax$/,
    );
    const cookie = cookiePair(login.setCookie);
    const csrf = String(login.json().csrfToken);
    expect((await send(`${base}/me`, { headers: { cookie } })).json()).toEqual({
      userId: 'alice',
      theme: 'light',
    });
    const update = (token: string) =>
      send(`${base}/theme`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': token, 'content-type': 'application/json' },
        body: '{"theme":"dark"}',
      });
    expect((await update('wrong')).status).toBe(403);
    expect((await update(csrf)).json()).toEqual({ theme: 'dark' });
    const out = await send(`${base}/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
    expect(out.status).toBe(204);
    expect((await send(`${base}/me`, { headers: { cookie } })).status).toBe(401);
  });

  it('the Express example runs: login, read, logout', async () => {
    const base = await start('express-example.ts');
    const { headers, body } = jsonBody({ user: 'bob' });
    const login = await send(`${base}/login`, { method: 'POST', headers, body });
    const cookie = cookiePair(login.setCookie);
    const csrf = String(login.json().csrfToken);
    expect((await send(`${base}/me`, { headers: { cookie } })).json()).toEqual({ userId: 'bob' });
    expect((await send(`${base}/logout`, { method: 'POST', headers: { cookie } })).status).toBe(403);
    expect(
      (await send(`${base}/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } })).status,
    ).toBe(204);
    expect((await send(`${base}/me`, { headers: { cookie } })).status).toBe(401);
  });
});
