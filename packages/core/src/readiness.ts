import { withDeadline } from './deadline.js';

/** One dependency's probe: resolves when it answers, rejects (or never settles) when it does not. */
export type ReadinessCheck = () => Promise<unknown>;

/** What a probe found: answered, failed, or did not answer within the deadline. */
export type DependencyState = 'ok' | 'unavailable' | 'timeout';

export interface ReadinessReport {
  /** True when every dependency answered. */
  readonly ready: boolean;
  /** Each dependency by its name, as the /readyz body shows it (names only: never a URL or an error). */
  readonly checks: Readonly<Record<string, DependencyState>>;
}

export interface ReadinessOptions {
  /** The deadline of each probe, in ms; they run concurrently. Default 800, so /readyz answers within 1 s. */
  readonly timeoutMs?: number;
  /** Told of each failed probe (for a log line); the error stays out of the report. */
  readonly onFailure?: (name: string, state: Exclude<DependencyState, 'ok'>, error: unknown) => void;
}

export const defaultReadinessTimeoutMs = 800;

const timedOut = Symbol('timed out');

/**
 * Probes every dependency at once, each bounded by `withDeadline`, so a frozen store costs one
 * deadline and not a hung probe. The report names what failed; what the error said goes only to
 * `onFailure`, since a driver's message may hold a host or a connection string.
 */
export async function checkReadiness(
  checks: Readonly<Record<string, ReadinessCheck>>,
  options: ReadinessOptions = {},
): Promise<ReadinessReport> {
  const timeoutMs = options.timeoutMs ?? defaultReadinessTimeoutMs;
  const names = Object.keys(checks);
  const states = await Promise.all(
    names.map(async (name): Promise<DependencyState> => {
      try {
        const probe = checks[name] as ReadinessCheck;
        await withDeadline(Promise.resolve().then(probe), timeoutMs, () => timedOut);
        return 'ok';
      } catch (error) {
        const state = error === timedOut ? 'timeout' : 'unavailable';
        options.onFailure?.(name, state, error === timedOut ? undefined : error);
        return state;
      }
    }),
  );
  const report: Record<string, DependencyState> = {};
  names.forEach((name, i) => {
    report[name] = states[i] as DependencyState;
  });
  return Object.freeze({ ready: states.every((s) => s === 'ok'), checks: Object.freeze(report) });
}

/** The /readyz body: `{ status: 'ok' | 'unavailable', checks: { name: state } }`. */
export function readinessBody(report: ReadinessReport): {
  status: 'ok' | 'unavailable';
  checks: Readonly<Record<string, DependencyState>>;
} {
  return { status: report.ready ? 'ok' : 'unavailable', checks: report.checks };
}
