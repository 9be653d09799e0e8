import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { hybridSignIn, type SignedIn, sessionSignIn, tokenSignIn } from './credentials.js';
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
} from './phases.js';
import type { ComparePlatform } from './platform.js';
import { PartRegistry } from './processes.js';
import {
  type CompareReport,
  type FaultName,
  type FaultReport,
  faultNames,
  type ModeName,
  type ModeReport,
  modeNames,
  reportSchema,
} from './schema.js';
import { startSystem } from './system.js';
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
  /** Live progress, a line at a time. */
  readonly progress?: (line: string) => void;
}

function phaseTimes(quick: boolean, durationS: number | undefined): PhaseTimes {
  if (quick) {
    return {
      costMs: (durationS ?? 2) * 1000,
      beforeFaultMs: 1_500,
      afterFaultMs: 3_000,
      storeDownMs: 1_500,
      tokenServiceDownMs: 1_500,
      revocationBoundMs: 2_000,
    };
  }
  return {
    costMs: (durationS ?? 10) * 1000,
    beforeFaultMs: 3_000,
    afterFaultMs: 6_000,
    storeDownMs: 10_000,
    tokenServiceDownMs: 20_000,
    revocationBoundMs: 10_000,
  };
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
  }
}

/** Runs every phase of one mode on its own system, then stops all of it. */
async function runMode(
  options: CompareOptions,
  mode: ModeDefinition,
  root: string,
  settings: CompareReport['settings'],
): Promise<ModeReport> {
  const progress = options.progress ?? (() => {});
  const signal = options.signal ?? new AbortController().signal;
  const registry = new PartRegistry();
  const proxies: DelayProxy[] = [];
  const times = phaseTimes(options.quick, options.durationS);
  try {
    progress(
      mode.services === 'none'
        ? `${mode.name}: starting the token service and 2 gateways (sessions in their memory)`
        : `${mode.name}: starting redis, the token service, 3 services and 2 gateways`,
    );
    const system = await startSystem({
      platform: options.platform,
      registry,
      mode,
      dir: join(root, mode.name),
      hopLatencyMs: settings.hop_latency_ms,
      proxies,
    });
    const credentials: SignedIn[] = [];
    for (let i = 0; i < settings.credentials; i++) {
      credentials.push(await signIn(mode, options.platform, system.gatewayUrls, system.issuer, i));
    }
    progress(`${mode.name}: ${credentials.length} callers signed in`);
    const context: PhaseContext = {
      system,
      credentials,
      workload:
        mode.services === 'none'
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
    progress(`${mode.name}: cost (${times.costMs / 1000} s)`);
    const cost = await measureCost(context);
    aborted();
    progress(
      `${mode.name}: ${cost.requests_per_s} req/s, p50 ${cost.p50_ms} ms, p99 ${cost.p99_ms} ms, store ops/request ${cost.store_ops_per_request}`,
    );
    const probes = await system.probe(false);
    const proved = Object.fromEntries(
      Object.entries(probes).map(([name, stats]) => [name, stats?.proved ?? []]),
    );

    let revoked: ModeReport['revocation'] = null;
    if (options.revocation !== false) {
      progress(`${mode.name}: revocation`);
      const victim = await signIn(
        mode,
        options.platform,
        system.gatewayUrls,
        system.issuer,
        settings.credentials,
      );
      revoked = await revocation(context, victim);
      progress(`${mode.name}: revocation via ${revoked.via}: ${JSON.stringify(revoked.first_rejection_ms)}`);
      aborted();
    }

    const faults: FaultReport[] = [];
    const wanted = options.faults ?? faultNames;
    // gateway_killed last: the others want both gateways.
    const order: FaultName[] = ['key_rotated', 'token_service_down', 'store_down', 'gateway_killed'];
    for (const fault of order) {
      if (!wanted.includes(fault) || !mode.faults.includes(fault)) continue;
      progress(`${mode.name}: fault ${fault}`);
      const run = {
        gateway_killed: gatewayKilled,
        store_down: storeDown,
        token_service_down: tokenServiceDown,
        key_rotated: keyRotated,
      }[fault];
      const report = await run(context);
      faults.push(report);
      progress(
        `${mode.name}: ${fault}: ${report.failed_requests} failed, credentials lost ${report.credentials_lost}, recovered after ${report.recovered_after_s} s`,
      );
      aborted();
    }
    return {
      mode: mode.name,
      cost,
      faults,
      revocation: revoked,
      propagation: propagation(mode, proved, cost.token_service_calls_per_request),
    };
  } finally {
    await registry.stopAll();
    registry.dispose();
    await Promise.all(proxies.map((proxy) => proxy.close()));
  }
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
  const selected = options.modes ?? modeNames;
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
  try {
    const rows: ModeReport[] = [];
    for (const name of selected) {
      if (options.signal?.aborted === true) throw new Error('interrupted');
      rows.push(await runMode(options, modes[name], root, settings));
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
    await rm(root, { recursive: true, force: true });
  }
}
