import type { SignedIn } from './credentials.js';
import { type Credential, GatewayTarget, type LoadResult, quantile, runLoad } from './load.js';
import { holdsAccessToken, type ModeDefinition } from './modes.js';
import { redisCommand } from './redis.js';
import type {
  Cost,
  FaultName,
  FaultReport,
  PropagationReport,
  RevocationReport,
  TimelineSecond,
} from './schema.js';
import type { ModeSystem, ServiceName } from './system.js';
import type { Workload } from './workload.js';

/** How long each phase runs. */
export interface PhaseTimes {
  /** Load before the cost phase, so the JIT and the caches are not what is measured. */
  readonly warmUpMs: number;
  readonly costMs: number;
  /**
   * Each caller's pause between requests under a fault: a fault's effects need a steady stream
   * of requests, not the most the machine can take (quick runs every mode's faults side by side).
   */
  readonly faultPauseMs: number;
  /** Load before a fault is injected. */
  readonly beforeFaultMs: number;
  /** Load after a fault has ended (an outage is over, a process is killed). */
  readonly afterFaultMs: number;
  /** How long the store is down (store_down). */
  readonly storeDownMs: number;
  /** How long the token service is down (token_service_down). */
  readonly tokenServiceDownMs: number;
  /** How long a revocation is waited for at each service before it counts as never. */
  readonly revocationBoundMs: number;
}

export interface PhaseContext {
  readonly system: ModeSystem;
  readonly credentials: readonly SignedIn[];
  readonly workload: Workload;
  readonly connections: number;
  readonly times: PhaseTimes;
  readonly signal: AbortSignal;
  /** One line of live progress. */
  readonly progress: (line: string) => void;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

const round = (value: number, digits = 2) => Number(value.toFixed(digits));
const roundOrNull = (value: number | null, digits = 2) => (value === null ? null : round(value, digits));

function targets(system: ModeSystem, connections: number): GatewayTarget[] {
  return system.gatewayUrls.map((url) => new GatewayTarget(url, connections));
}

async function load(
  context: PhaseContext,
  durationMs: number,
  label: string,
  gateways: GatewayTarget[],
  signal: AbortSignal = context.signal,
  pauseMs = 0,
): Promise<LoadResult> {
  const { system } = context;
  return runLoad({
    gateways,
    credentials: context.credentials,
    edgeOrigin: system.publicOrigin,
    workload: context.workload,
    connections: context.connections,
    durationMs,
    sticky: system.mode.sessionsInMemory,
    signal,
    pauseMs,
    onSecond: (second) =>
      context.progress(
        `  ${system.mode.name} ${label} t=${second.t}s ok=${second.ok} failed=${second.failed}`,
      ),
  });
}

/** CPU ms of every part and of this process so far, by name. */
async function cpuSnapshot(system: ModeSystem): Promise<Map<string, number>> {
  const snapshot = new Map<string, number>();
  for (const part of system.parts) {
    const ms = await part.cpuMs();
    if (ms !== null) snapshot.set(part.name, ms);
  }
  const self = process.cpuUsage();
  snapshot.set('load-generator', (self.user + self.system) / 1000);
  return snapshot;
}

/** The cost phase: the workload for `costMs` on both gateways, and what each part spent on it. */
export async function measureCost(context: PhaseContext): Promise<Cost> {
  const { system } = context;
  const gateways = targets(system, context.connections);
  try {
    await load(context, context.times.warmUpMs, 'warm-up', gateways);
    await system.probe(true);
    const cpuBefore = await cpuSnapshot(system);
    const storeBefore = await system.storeCalls();
    const tokenBefore = await system.tokenServiceCalls();
    const result = await load(context, context.times.costMs, 'cost', gateways);
    const cpuAfter = await cpuSnapshot(system);
    const storeAfter = await system.storeCalls();
    const tokenAfter = await system.tokenServiceCalls();
    const probes = await system.probe(true);
    const requests = Math.max(result.requests, 1);
    const cpu: Record<string, number> = {};
    for (const [name, after] of cpuAfter) {
      const before = cpuBefore.get(name);
      if (before !== undefined) cpu[name] = round(((after - before) / requests) * 1000, 1);
    }
    // A user's own routes (`--config`) reach the user's upstreams: no shop hop is measured.
    const shopHops = system.mode.services === 'none' || Object.keys(system.services).length > 0;
    const hops = (shopHops ? (['orders', 'inventory', 'payments'] as const) : []).map((service) => {
      const stats = probes[service];
      const count = stats?.durationsMs.length ?? 0;
      return {
        service,
        p50_ms: roundOrNull(quantile(stats?.durationsMs ?? [], 0.5), 3),
        credential_bytes: count === 0 ? null : round((stats?.credentialBytes ?? 0) / count, 1),
      };
    });
    // The token service counts its own /metrics scrape before answering it: one each time.
    const tokenCalls =
      tokenBefore === null || tokenAfter === null
        ? null
        : Math.max(0, tokenAfter - tokenBefore - 1) / requests;
    // A failing run must not hide behind a fast number.
    if (result.failed > result.requests / 2) {
      throw new Error(
        `${system.mode.name}: ${result.failed} of ${result.requests} requests failed in the cost phase`,
      );
    }
    return {
      requests_per_s: round(result.requests / (result.elapsedMs / 1000), 1),
      p50_ms: roundOrNull(quantile(result.latenciesMs, 0.5), 3),
      p99_ms: roundOrNull(quantile(result.latenciesMs, 0.99), 3),
      hops,
      edge_credential_bytes: round(result.credentialBytes / requests, 1),
      store_ops_per_request:
        storeBefore === null || storeAfter === null ? null : round((storeAfter - storeBefore) / requests, 3),
      token_service_calls_per_request: tokenCalls === null ? null : round(tokenCalls, 4),
      cpu_ms_per_1000: cpu,
    };
  } finally {
    await Promise.all(gateways.map((gateway) => gateway.close()));
  }
}

/** Seconds from `endSecond` to the first second without failures; 0 when none failed, null if never. */
export function recoveredAfter(timeline: readonly TimelineSecond[], endSecond: number): number | null {
  if (timeline.every((second) => second.failed === 0)) return 0;
  const clean = timeline.find((second) => second.t >= endSecond && second.failed === 0);
  return clean === undefined ? null : Math.max(0, clean.t - endSecond);
}

/**
 * Where a bearer token is tried at the edge: the shop's list of orders, or else the workload's
 * first GET (a user's own routes), or else its first request.
 */
function bearerCheckPath(workload: Workload): string {
  const gets = workload.requests.filter((request) => request.method === 'GET');
  return (
    gets.find((request) => request.path === '/api/orders/orders')?.path ??
    gets[0]?.path ??
    workload.requests[0]?.path ??
    '/'
  );
}

/** What a credential is checked with at gateway `gateway` (its proofs name `publicOrigin`): does it still work? */
function stillWorks(
  mode: ModeDefinition,
  workload: Workload,
  gateway: string,
  publicOrigin: string,
  credential: Credential,
): Promise<boolean> {
  const path = holdsAccessToken(mode) ? bearerCheckPath(workload) : '/auth/me';
  return fetch(`${gateway}${path}`, {
    headers: credential.headers('GET', `${publicOrigin}${path}`),
    signal: AbortSignal.timeout(5_000),
  })
    .then(async (response) => {
      await response.arrayBuffer();
      return response.status === 200;
    })
    .catch(() => false);
}

/**
 * Runs load for `beforeFaultMs`, then `inject` (which resolves with when the fault ended), then
 * `afterFaultMs` more.
 */
async function underLoad(
  context: PhaseContext,
  fault: FaultName,
  outageMs: number,
  inject: (gateways: GatewayTarget[]) => Promise<number>,
): Promise<{ result: LoadResult; endedMs: number }> {
  const gateways = targets(context.system, context.connections);
  const { beforeFaultMs, afterFaultMs } = context.times;
  // The load goes on for `afterFaultMs` after the fault ended, however long a restart took;
  // the bound is for a restart that never ends.
  const stop = new AbortController();
  const bound = beforeFaultMs + outageMs + afterFaultMs + 30_000;
  try {
    const started = performance.now();
    const running = load(
      context,
      bound,
      fault,
      gateways,
      AbortSignal.any([context.signal, stop.signal]),
      context.times.faultPauseMs,
    );
    await sleep(beforeFaultMs, context.signal);
    const endedAt = await inject(gateways);
    await sleep(afterFaultMs, context.signal);
    stop.abort();
    const result = await running;
    return { result, endedMs: endedAt - started };
  } finally {
    stop.abort();
    await Promise.all(gateways.map((gateway) => gateway.close()));
  }
}

function faultReport(
  fault: FaultName,
  result: LoadResult,
  endedMs: number,
  credentialsLost: number | null,
): FaultReport {
  return {
    fault,
    timeline: result.timeline,
    failed_requests: result.failed,
    credentials_lost: credentialsLost,
    recovered_after_s: recoveredAfter(result.timeline, Math.floor(endedMs / 1000)),
  };
}

/**
 * `gateway_killed`: gateway A SIGKILLed under load; then every credential is tried on B. Gateway
 * A is started again only if a phase follows (`restart`): after the last one the system is stopped.
 */
export async function gatewayKilled(context: PhaseContext, restart = true): Promise<FaultReport> {
  const { system } = context;
  const { result, endedMs } = await underLoad(context, 'gateway_killed', 0, async () => {
    await system.gateways[0]?.kill();
    return performance.now();
  });
  const survivor = system.gatewayUrls[1] as string;
  const works = await Promise.all(
    context.credentials.map((credential) =>
      stillWorks(system.mode, context.workload, survivor, system.publicOrigin, credential),
    ),
  );
  const lost = works.filter((ok) => !ok).length;
  if (restart) await system.gateways[0]?.start();
  return faultReport('gateway_killed', result, endedMs, lost);
}

/** `store_down`: the Redis server stopped (its data saved) for `storeDownMs`, then started again. */
export async function storeDown(context: PhaseContext): Promise<FaultReport> {
  const { system } = context;
  const redis = system.redis;
  const port = system.redisPort;
  if (redis === undefined || port === undefined) throw new Error('store_down needs a store');
  const { result, endedMs } = await underLoad(context, 'store_down', context.times.storeDownMs, async () => {
    await redisCommand(port, ['SHUTDOWN', 'SAVE']).catch(() => '');
    await redis.stop();
    await sleep(context.times.storeDownMs, context.signal);
    await redis.start();
    return performance.now();
  });
  return faultReport('store_down', result, endedMs, null);
}

/** `token_service_down`: the token service stopped for `tokenServiceDownMs`, then started again. */
export async function tokenServiceDown(context: PhaseContext): Promise<FaultReport> {
  const { system } = context;
  const { result, endedMs } = await underLoad(
    context,
    'token_service_down',
    context.times.tokenServiceDownMs,
    async () => {
      await system.tokenService.stop();
      await sleep(context.times.tokenServiceDownMs, context.signal);
      await system.tokenService.start();
      return performance.now();
    },
  );
  return faultReport('token_service_down', result, endedMs, null);
}

/** `key_rotated`: the signing keys rotated under load (twice: the waiting key signs, a new one waits). */
export async function keyRotated(context: PhaseContext): Promise<FaultReport> {
  const { system } = context;
  const { result, endedMs } = await underLoad(context, 'key_rotated', 0, async () => {
    await system.rotateKeys();
    await system.rotateKeys();
    return performance.now();
  });
  return faultReport('key_rotated', result, endedMs, null);
}

/** Polls `check` every 10 ms until it answers false; ms from `since`, or null past `boundMs`. */
async function firstRejection(
  check: () => Promise<boolean>,
  since: number,
  boundMs: number,
): Promise<number | null> {
  while (performance.now() - since < boundMs) {
    if (!(await check())) return round(performance.now() - since, 1);
    await sleep(10);
  }
  return null;
}

/** Revocation: from logout or /revoke to the first rejection at each place the credential was good. */
export async function revocation(context: PhaseContext, credential: SignedIn): Promise<RevocationReport> {
  const { system, times } = context;
  const { mode } = system;
  // `url` is where the request goes, `named` the URL its server knows itself by (a DPoP proof's
  // htu): the gateway's public origin at the edge. Fresh headers, so a fresh proof, per check.
  const status = (url: string, named = url) =>
    fetch(url, { headers: credential.headers('GET', named), signal: AbortSignal.timeout(2_000) })
      .then(async (response) => {
        await response.arrayBuffer();
        return response.status === 200;
      })
      .catch(() => true);
  const checks: Record<string, () => Promise<boolean>> = {};
  const gatewayNames = ['gateway-a', 'gateway-b'];
  if (holdsAccessToken(mode)) {
    const path = bearerCheckPath(context.workload);
    checks.edge = () => status(`${system.gatewayUrls[1]}${path}`, `${system.publicOrigin}${path}`);
    // Straight at the services, as a token copied out of the edge would be tried there.
    const orders = system.serviceUrls.orders;
    const inventory = system.serviceUrls.inventory;
    if (orders !== undefined) checks.orders = () => status(`${orders}/orders`);
    if (inventory !== undefined) checks.inventory = () => status(`${inventory}/items`);
  } else {
    system.gatewayUrls.forEach((url, i) => {
      // Without replication a session made on A was never good on B: nothing to measure there.
      if (mode.sessionsInMemory && i !== credential.home) return;
      checks[gatewayNames[i] as string] = () => status(`${url}/auth/me`);
    });
  }
  for (const [name, check] of Object.entries(checks)) {
    if (!(await check()))
      throw new Error(`revocation: the credential did not work at ${name} before it was revoked`);
  }
  const since = performance.now();
  if (holdsAccessToken(mode)) {
    const revoked = await fetch(`${system.issuer}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: credential.secret, client_id: 'shop-cli' }).toString(),
      signal: AbortSignal.timeout(5_000),
    });
    if (revoked.status !== 200) throw new Error(`revocation: /revoke answered ${revoked.status}`);
  } else {
    const home = system.gatewayUrls[credential.home] as string;
    const out = await fetch(`${home}/auth/logout`, {
      method: 'POST',
      headers: credential.headers('POST', `${home}/auth/logout`),
      redirect: 'manual',
      signal: AbortSignal.timeout(5_000),
    });
    if (out.status >= 400) throw new Error(`revocation: /auth/logout answered ${out.status}`);
  }
  const firstRejectionMs: Record<string, number | null> = {};
  const measured = await Promise.all(
    Object.entries(checks).map(
      async ([name, check]) => [name, await firstRejection(check, since, times.revocationBoundMs)] as const,
    ),
  );
  for (const [name, ms] of measured) firstRejectionMs[name] = ms;
  const via = holdsAccessToken(mode)
    ? mode.revocationEvents
      ? 'revoke'
      : 'revoke-without-events'
    : 'logout';
  return { via, first_rejection_ms: firstRejectionMs };
}

/**
 * A bound token without its proof: `credential`'s token under `Bearer`, no DPoP header, at the
 * edge and straight at the services; the status each answered (0: no answer).
 */
export async function unprovedToken(
  context: PhaseContext,
  credential: SignedIn,
): Promise<Record<string, number>> {
  const { system } = context;
  const headers = { authorization: `Bearer ${credential.secret}` };
  const places: Record<string, string> = {
    edge: `${system.gatewayUrls[1]}${bearerCheckPath(context.workload)}`,
  };
  if (system.serviceUrls.orders !== undefined) places.orders = `${system.serviceUrls.orders}/orders`;
  if (system.serviceUrls.inventory !== undefined) places.inventory = `${system.serviceUrls.inventory}/items`;
  const answered = await Promise.all(
    Object.entries(places).map(async ([name, url]) => {
      const status = await fetch(url, { headers, signal: AbortSignal.timeout(5_000) })
        .then(async (response) => {
          await response.arrayBuffer();
          return response.status;
        })
        .catch(() => 0);
      return [name, status] as const;
    }),
  );
  return Object.fromEntries(answered);
}

/** Propagation: at the edge and at each hop, what was proved about the caller and whom it asked. */
export function propagation(
  mode: ModeDefinition,
  proved: Partial<Record<ServiceName, readonly string[]>>,
  tokenServiceCallsPerRequest: number | null,
): PropagationReport[] {
  const edge: PropagationReport = {
    service: 'gateway',
    proved:
      mode.credential === 'dpop-token'
        ? ['user', 'scopes', 'client', 'audience', 'key: DPoP proof']
        : mode.credential === 'bearer'
          ? ['user', 'scopes', 'client', 'audience']
          : ['signed-in session', 'user'],
    asked:
      mode.credential === 'dpop-token'
        ? // Every token is exchanged at the edge (bound to the gateway's key), cached per token.
          ['nobody', 'token service (exchange for the upstream)']
        : mode.credential === 'bearer'
          ? ['nobody']
          : mode.sessionsInMemory
            ? ['nobody (its own memory)']
            : ['store'],
  };
  if (mode.services === 'none') return [edge];
  const services = (['orders', 'inventory', 'payments'] as const).map((service) => {
    const asked =
      mode.services === 'session'
        ? ['store']
        : service === 'orders' && (tokenServiceCallsPerRequest ?? 0) > 0
          ? ['nobody', 'token service (exchange for the next hop)']
          : ['nobody'];
    return { service, proved: [...(proved[service] ?? [])], asked };
  });
  return [edge, ...services];
}
