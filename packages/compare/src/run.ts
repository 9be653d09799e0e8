import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { dpopTokenSignIn, hybridSignIn, type SignedIn, sessionSignIn, tokenSignIn } from './credentials.js';
import type { DelayProxy } from './delay-proxy.js';
import { type ModeDefinition, modes } from './modes.js';
import {
  gatewayKilled,
  keyRotated,
  measureCost,
  type PhaseContext,
  type PhaseTimes,
  propagation,
  revocation,
  storeDown,
  tokenServiceDown,
  unprovedToken,
} from './phases.js';
import type { ComparePlatform, UserRoute } from './platform.js';
import { freePort, type Part, PartRegistry } from './processes.js';
import type { ProgressView } from './progress.js';
import { redisServerSpec } from './redis.js';
import type { CompareReport, FaultName, FaultReport, ModeName, ModeReport } from './schema.js';
import { faultNames, modeNames, reportSchema } from './schema.js';
import { type ModeSystem, type ServiceName, startSystem } from './system.js';
import { shopWorkload, type Workload } from './workload.js';

export interface CompareOptions {
  readonly platform: ComparePlatform;
  /** A short run of every phase (tests, CI). */
  readonly quick: boolean;
  readonly modes?: readonly ModeName[];
  readonly faults?: readonly FaultName[];
  /** Skip the revocation phase. */
  readonly revocation?: boolean;
  readonly workload?: Workload;
  readonly hopLatencyMs?: number;
  readonly connections?: number;
  /** Cost-phase seconds (default 20, quick 2). */
  readonly durationS?: number;
  /** Ctrl-C: stops the run between (and inside) phases; everything started is stopped. */
  readonly signal?: AbortSignal;
  /**
   * A user's own gateway routes (`--config`): the gateways route to the user's upstreams instead
   * of the shop (no shop service is started), in the modes the routes' `auth` allows
   * (`modesForRoutes`); needs `workload`.
   */
  readonly routes?: readonly UserRoute[];
  /** Live progress: a bar per phase on a terminal, plain lines elsewhere (default: nothing). */
  readonly progress?: ProgressView;
}

// Each phase's milliseconds in a quick run and in a full one, side by side; the cost phase's
// come from `durationS` (default 1.5 s quick, 10 s full).
const phaseMs: Readonly<Record<Exclude<keyof PhaseTimes, 'costMs'>, readonly [quick: number, full: number]>> =
  {
    warmUpMs: [500, 2_000],
    faultPauseMs: [100, 0],
    beforeFaultMs: [1_000, 2_000],
    afterFaultMs: [2_000, 3_000],
    storeDownMs: [1_000, 10_000],
    tokenServiceDownMs: [1_000, 20_000],
    revocationBoundMs: [2_000, 10_000],
  };

function phaseTimes(quick: boolean, durationS: number | undefined): PhaseTimes {
  const pick = quick ? 0 : 1;
  // fromEntries of phaseMs's own keys: each of them, a number.
  const times = Object.fromEntries(Object.entries(phaseMs).map(([phase, ms]) => [phase, ms[pick]])) as Record<
    keyof typeof phaseMs,
    number
  >;
  return { ...times, costMs: (durationS ?? (quick ? 1.5 : 10)) * 1000 };
}

async function signIn(
  mode: ModeDefinition,
  platform: ComparePlatform,
  gatewayUrls: readonly string[],
  issuer: string,
  index: number,
): Promise<SignedIn> {
  const users = platform.users;
  const user = users[index % users.length];
  if (user === undefined) throw new Error('the seed has no users');
  const home = index % gatewayUrls.length;
  const gateway = gatewayUrls[home] as string;
  switch (mode.credential) {
    case 'session-cookie':
      return sessionSignIn(gateway, home, user);
    case 'hybrid-cookie':
      // The sign-in comes back to the callback registered for gateway A; the session is shared.
      return { ...(await hybridSignIn(gatewayUrls[0] as string, home, user)), home };
    case 'bearer':
      return tokenSignIn(issuer, platform.publicClient, home, user);
    case 'dpop-token':
      return dpopTokenSignIn(issuer, platform.publicClient, home, user);
  }
}

/** One mode's processes, being started or running, and what stops them. */
interface StartedMode {
  readonly mode: ModeDefinition;
  readonly system: Promise<ModeSystem>;
  stop(): Promise<void>;
}

/** Starts one mode's system: its own processes, its own redis-server when it has a store. */
function startMode(
  options: CompareOptions,
  mode: ModeDefinition,
  root: string,
  settings: CompareReport['settings'],
): StartedMode {
  const registry = new PartRegistry();
  const proxies: DelayProxy[] = [];
  const dir = join(root, mode.name);
  const system = (async () => {
    let redis: { part: Part; port: number } | undefined;
    if (!mode.sessionsInMemory) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const port = await freePort();
      redis = { part: await registry.start(redisServerSpec(port, dir)), port };
    }
    return startSystem({
      platform: options.platform,
      registry,
      mode,
      dir,
      hopLatencyMs: settings.hop_latency_ms,
      proxies,
      ...(redis === undefined ? {} : { redis }),
      ...(options.routes === undefined ? {} : { routes: routesFor(mode, options.routes) }),
    });
  })();
  // A start that fails while another mode runs is reported when this mode's turn comes.
  system.catch(() => {});
  return {
    mode,
    system,
    async stop() {
      await system.catch(() => {});
      await registry.stopAll();
      registry.dispose();
      await Promise.all(proxies.map((proxy) => proxy.close()));
    },
  };
}

const SIGN_IN_AT_ONCE = 2;

/** What a mode's quiet phases found, and what its faults run with. */
interface Measured {
  readonly mode: ModeDefinition;
  readonly context: PhaseContext;
  readonly cost: ModeReport['cost'];
  readonly revocation: ModeReport['revocation'];
  readonly unprovedToken: ModeReport['unproved_token'];
  readonly proved: Partial<Record<ServiceName, readonly string[]>>;
}

/** Signs the callers in, then the cost and revocation phases of one mode (started by `startMode`). */
async function measureMode(
  options: CompareOptions,
  mode: ModeDefinition,
  system: ModeSystem,
  settings: CompareReport['settings'],
): Promise<Measured> {
  const view = options.progress;
  const progress = (line: string) => view?.line(line);
  const signal = options.signal ?? new AbortController().signal;
  const times = phaseTimes(options.quick, options.durationS);
  // The callers sign in two at a time, the revocation phase's own caller (the last) too: more at
  // once contend on the login rate limiter's per-address count, which refuses a burst (429).
  const signedIn: SignedIn[] = [];
  const total = settings.credentials + 1;
  for (let i = 0; i < total; i += SIGN_IN_AT_ONCE) {
    const batch = Array.from({ length: Math.min(SIGN_IN_AT_ONCE, total - i) }, (_, j) =>
      signIn(mode, options.platform, system.gatewayUrls, system.issuer, i + j),
    );
    signedIn.push(...(await Promise.all(batch)));
  }
  const credentials = signedIn.slice(0, settings.credentials);
  const victim = signedIn[settings.credentials] as SignedIn;
  progress(`${mode.name}: ${credentials.length} callers signed in`);
  const context: PhaseContext = {
    system,
    credentials,
    workload:
      mode.services === 'none' && options.routes === undefined
        ? edgeOnly(options.workload ?? shopWorkload)
        : (options.workload ?? shopWorkload),
    connections: settings.connections,
    times,
    signal,
    progress,
  };
  const aborted = () => {
    if (signal.aborted) throw new Error('interrupted');
  };
  view?.phase(mode.name, 'cost', times.warmUpMs + times.costMs);
  const cost = await measureCost(context);
  aborted();
  progress(
    `${mode.name}: ${cost.requests_per_s} req/s, p50 ${cost.p50_ms} ms, p99 ${cost.p99_ms} ms, store ops/request ${cost.store_ops_per_request}`,
  );
  const probes = await system.probe(false);
  const proved = Object.fromEntries(
    Object.entries(probes).map(([name, stats]) => [name, stats?.proved ?? []]),
  );
  // A bound token is tried without its proof, as a token copied out of a request would be.
  const unproved =
    mode.dpop && credentials[0] !== undefined ? await unprovedToken(context, credentials[0]) : null;
  if (unproved !== null) progress(`${mode.name}: the token without its proof: ${JSON.stringify(unproved)}`);
  let revoked: ModeReport['revocation'] = null;
  if (options.revocation !== false) {
    view?.phase(mode.name, 'revocation', times.revocationBoundMs);
    revoked = await revocation(context, victim);
    progress(`${mode.name}: revocation via ${revoked.via}: ${JSON.stringify(revoked.first_rejection_ms)}`);
    aborted();
  }
  return { mode, context, cost, revocation: revoked, unprovedToken: unproved, proved };
}

/**
 * The faults of one mode, in turn. `announce`: a progress phase per fault (when modes break side
 * by side the run announces one phase for all of them).
 */
async function breakMode(
  options: CompareOptions,
  measured: Measured,
  announce: boolean,
): Promise<ModeReport> {
  const { mode, context } = measured;
  const { times, signal, progress } = context;
  const view = options.progress;
  const faults: FaultReport[] = [];
  const planned = plannedFaults(mode, options.faults ?? faultNames);
  for (const [index, fault] of planned.entries()) {
    if (announce) view?.phase(mode.name, `fault ${fault}`, faultMs(fault, times));
    const last = index === planned.length - 1;
    const report = await {
      gateway_killed: (c: PhaseContext) => gatewayKilled(c, !last),
      store_down: storeDown,
      token_service_down: tokenServiceDown,
      key_rotated: keyRotated,
    }[fault](context);
    faults.push(report);
    progress(
      `${mode.name}: ${fault}: ${report.failed_requests} failed, credentials lost ${report.credentials_lost}, recovered after ${report.recovered_after_s} s`,
    );
    if (signal.aborted) throw new Error('interrupted');
  }
  return {
    mode: mode.name,
    cost: measured.cost,
    faults,
    revocation: measured.revocation,
    unproved_token: measured.unprovedToken,
    // A user's own upstreams (`--config`) tell nothing of what they proved: the edge alone.
    propagation: propagation(mode, measured.proved, measured.cost.token_service_calls_per_request).slice(
      0,
      options.routes === undefined ? undefined : 1,
    ),
  };
}

/** The faults of `mode` among `wanted`, in the order they run: gateway_killed last (the others want both gateways). */
function plannedFaults(mode: ModeDefinition, wanted: readonly FaultName[]): FaultName[] {
  const order: FaultName[] = ['key_rotated', 'token_service_down', 'store_down', 'gateway_killed'];
  return order.filter((fault) => wanted.includes(fault) && mode.faults.includes(fault));
}

/** How long a fault's phase should take: load before, the outage, load after. */
function faultMs(fault: FaultName, times: PhaseTimes): number {
  const outage =
    fault === 'store_down'
      ? times.storeDownMs
      : fault === 'token_service_down'
        ? times.tokenServiceDownMs
        : 0;
  return times.beforeFaultMs + outage + times.afterFaultMs;
}

function faultsMs(mode: ModeDefinition, wanted: readonly FaultName[], times: PhaseTimes): number {
  return plannedFaults(mode, wanted).reduce((sum, fault) => sum + faultMs(fault, times), 0);
}

/**
 * The modes a user's routes can run in: a mode whose gateway authenticates the way some route
 * asks (`token`: token and token-nocache; `session`: session-memory and session-redis; `hybrid`).
 * Never token-dpop: its gateway exchanges every token for the shop's audiences and its upstreams
 * take DPoP only, which a user's own routes and upstreams are not written for.
 */
export function modesForRoutes(routes: readonly UserRoute[]): ModeName[] {
  const kinds = new Set(routes.map((route) => route.auth));
  return modeNames.filter((name) => !modes[name].dpop && kinds.has(modes[name].devMode));
}

/** The routes of `mode`'s kind, and the public ones (every mode serves those). */
function routesFor(mode: ModeDefinition, routes: readonly UserRoute[]): UserRoute[] {
  return routes.filter((route) => route.auth === mode.devMode || route.auth === 'public');
}

/** The edge alone: with sessions in one gateway's memory nothing behind it can look one up. */
function edgeOnly(workload: Workload): Workload {
  return {
    name: `${workload.name} (edge only: /auth/me)`,
    requests: [{ method: 'GET', path: '/auth/me', weight: 1 }],
  };
}

/** Runs the comparison: each mode in turn, every part a process, and returns the report. */
export async function runCompare(options: CompareOptions): Promise<CompareReport> {
  let selected: readonly ModeName[] = options.modes ?? modeNames;
  if (options.routes !== undefined) {
    if (options.workload === undefined) throw new Error('--config needs --workload: the requests to send');
    const allowed = modesForRoutes(options.routes);
    if (allowed.length === 0)
      throw new Error('--config: no route asks for token, session or hybrid auth: nothing to compare');
    const refused = options.modes?.find((name) => !allowed.includes(name));
    if (refused !== undefined)
      throw new Error(
        `--config: no route of the config can run in ${refused} (its routes allow ${allowed.join(', ')})`,
      );
    selected = options.modes ?? allowed;
  }
  const workload = options.workload ?? shopWorkload;
  const times = phaseTimes(options.quick, options.durationS);
  const settings: CompareReport['settings'] = {
    quick: options.quick,
    duration_s: times.costMs / 1000,
    connections: options.connections ?? (options.quick ? 8 : 32),
    hop_latency_ms: options.hopLatencyMs ?? 0,
    credentials: options.quick ? 6 : 16,
    workload: workload.name,
    modes: [...selected],
    faults: [...(options.faults ?? faultNames)],
    started_at: new Date().toISOString(),
  };
  const root = await mkdtemp(join(tmpdir(), 'tessera-compare-'));
  const view = options.progress;
  const started: StartedMode[] = [];
  const interrupted = () => options.signal?.aborted === true;
  const announce = (mode: ModeDefinition) =>
    view?.line(
      mode.sessionsInMemory
        ? `${mode.name}: starting the token service and 2 gateways (sessions in their memory)`
        : `${mode.name}: starting redis, the token service, 3 services and 2 gateways`,
    );
  const start = (name: ModeName) => {
    announce(modes[name]);
    const mode = startMode(options, modes[name], root, settings);
    started.push(mode);
    return mode;
  };
  try {
    const rows: ModeReport[] = [];
    if (options.quick) {
      // Quick: every mode's system is started first (two modes at a time, so that no part misses
      // its start deadline on a small machine), then each mode's cost and revocation phases run
      // alone, in turn, and then the faults of every mode run side by side: each mode has its
      // own processes and its own redis-server, so one mode's fault never reaches another.
      const systems: ModeSystem[] = [];
      for (let i = 0; i < selected.length; i += 2) {
        const batch = selected.slice(i, i + 2).map(start);
        systems.push(...(await Promise.all(batch.map((mode) => mode.system))));
        if (interrupted()) throw new Error('interrupted');
      }
      const measured: Measured[] = [];
      for (const [i, system] of systems.entries()) {
        measured.push(await measureMode(options, (started[i] as StartedMode).mode, system, settings));
        if (interrupted()) throw new Error('interrupted');
      }
      const longest = Math.max(0, ...measured.map((entry) => faultsMs(entry.mode, settings.faults, times)));
      if (longest > 0)
        view?.phase(
          measured.length === 1 ? '1 mode' : `${measured.length} modes`,
          'faults side by side',
          longest,
        );
      rows.push(...(await Promise.all(measured.map((entry) => breakMode(options, entry, false)))));
    } else {
      if (selected[0] !== undefined) start(selected[0]);
      for (let i = 0; i < selected.length; i++) {
        if (interrupted()) throw new Error('interrupted');
        const current = started[i] as StartedMode;
        const measured = await measureMode(options, current.mode, await current.system, settings);
        rows.push(await breakMode(options, measured, true));
        // The next mode starts while this one is stopped.
        const stopping = current.stop();
        const next = selected[i + 1];
        if (next !== undefined && !interrupted()) start(next);
        await stopping;
      }
    }
    const cpu = cpus();
    const report: CompareReport = {
      version: options.platform.version,
      machine: {
        cpus: cpu.length,
        cpu_model: cpu[0]?.model ?? 'unknown',
        memory_mb: Math.round(totalmem() / 1024 / 1024),
        platform: `${process.platform} ${process.arch}`,
        node: process.version,
      },
      settings,
      modes: rows,
    };
    return reportSchema.parse(report);
  } finally {
    view?.end();
    await Promise.all(started.map((mode) => mode.stop()));
    await rm(root, { recursive: true, force: true });
  }
}
