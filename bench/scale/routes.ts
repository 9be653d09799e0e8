// Routes: the gateway's req/s with 10 and with 1,000 public routes (`/svc-<i>` each, all to one
// bare upstream), every request to a route picked at random, so the gateway's cost per request is
// its route matching plus the proxying both sizes share.
import type autocannon from 'autocannon';
import type { RunningServer } from '../lib/servers.js';
import { closeAll, compareSizes, describeRun, launch, pick, type SizedTarget } from './flat.js';

const sizes = (process.env.BENCH_ROUTES ?? '10,1000').split(',').map(Number) as [number, number];

describeRun('GET /svc-<random>/items/7 through the gateway to one upstream');
const servers: RunningServer[] = [];
try {
  const upstream = await launch('upstream', []);
  servers.push(upstream);
  const targets: SizedTarget[] = [];
  for (const count of sizes) {
    const gateway = await launch('gateway', [String(count), `http://127.0.0.1:${upstream.port}`]);
    servers.push(gateway);
    const paths = Array.from({ length: count }, (_, i) => `/svc-${i}/items/7`);
    const base = `http://127.0.0.1:${gateway.port}`;
    for (const path of [paths[0], paths[count - 1]]) {
      const check = await fetch(`${base}${path}`);
      if (check.status !== 200) throw new Error(`${count} routes: GET ${path} answered ${check.status}`);
    }
    targets.push({
      name: `${count} routes`,
      size: `${count.toLocaleString('en-US')} routes`,
      url: `${base}${paths[0]}`,
      headers: {},
      requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, path: pick(paths) }) }],
    });
  }
  await compareSizes(targets);
} finally {
  await closeAll(servers);
}
