// nginx as a contestant: what a team would put at the edge instead of a Node gateway. Debian's
// nginx-light (`apt-get install nginx-light`), one worker, HTTP/1.1 keep-alive to the upstream,
// no access log, everything it writes in a temporary directory. Absent, the bench says so and
// goes on without it.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningServer } from './servers.js';

const NGINX = process.env.BENCH_NGINX ?? '/usr/sbin/nginx';

/** The nginx binary's version line, or undefined when there is none to run. */
export function nginxVersion(): string | undefined {
  const result = spawnSync(NGINX, ['-v'], { encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) return undefined;
  return result.stderr.trim().replace(/^nginx version: /, '');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts nginx proxying every path to `upstream` (http://127.0.0.1:PORT). */
export async function startNginx(upstream: string): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-nginx-'));
  const port = await freePort();
  const target = new URL(upstream);
  const config = `
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream app {
    server ${target.hostname}:${target.port};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), config);
  const child: ChildProcess = spawn(
    NGINX,
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await close();
      throw new Error(`nginx exited (${child.exitCode}) before it listened`);
    }
    const ok = await fetch(`http://127.0.0.1:${port}/`).then(
      (response) => response.arrayBuffer().then(() => true),
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error('nginx did not listen within 10 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, ...(child.pid === undefined ? {} : { pid: child.pid }), close };
}
