import { Pool } from 'undici';
import type { TimelineSecond } from './schema.js';
import { type Workload, weightedPicker } from './workload.js';

/** One caller's credentials, made at one gateway. */
export interface Credential {
  /** The index of the gateway that made it (where a sticky load balancer sends it). */
  readonly home: number;
  /**
   * The headers that carry it, for a request of `method` to `url`, the URL as its server knows
   * itself (at the edge the gateway's public origin, whichever instance answers). Cookie modes add
   * the CSRF token to unsafe requests; a DPoP credential signs a fresh proof for each call.
   */
  headers(method: string, url: string): Record<string, string>;
  /**
   * Sees each answer's headers; true when the request is to be sent once more with fresh headers
   * (a DPoP server asking for its nonce, RFC 9449 9). Absent: never.
   */
  answered?(status: number, header: (name: string) => string | undefined): boolean;
}

/** A gateway instance as the load balancer sees it. */
export class GatewayTarget {
  readonly pool: Pool;
  readonly url: string;
  alive = true;

  constructor(url: string, connections: number) {
    this.url = url;
    this.pool = new Pool(url, {
      connections,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}

/** A request without an answer within this is a failure (status 0), never a hang. */
const REQUEST_TIMEOUT_MS = 5_000;

export interface LoadOptions {
  readonly gateways: readonly GatewayTarget[];
  readonly credentials: readonly Credential[];
  /** The origin the requests' URLs are named with (a DPoP proof's `htu`): the gateways' public origin. */
  readonly edgeOrigin: string;
  readonly workload: Workload;
  readonly connections: number;
  readonly durationMs: number;
  /** Send each credential to the gateway that made it while that one lives (sessions without replication). */
  readonly sticky: boolean;
  /** Ends the load early (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Each caller waits this long between requests (a steady stream, not the most it can take); default 0. */
  readonly pauseMs?: number;
  /** Called once per elapsed second with that second's counts (live progress). */
  readonly onSecond?: (second: TimelineSecond) => void;
}

export interface LoadResult {
  readonly requests: number;
  readonly ok: number;
  readonly failed: number;
  /** Latency in ms of every answered request. */
  readonly latenciesMs: number[];
  readonly timeline: TimelineSecond[];
  /** Bytes of credentials sent, summed. */
  readonly credentialBytes: number;
  readonly elapsedMs: number;
}

/**
 * A closed-loop load generator: `connections` callers, each sending its next request as soon as
 * the last one is answered, for `durationMs`, spread over the live gateways as a load balancer
 * would (one that takes an instance out once a connection to it fails).
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { gateways, credentials, connections, durationMs, sticky } = options;
  if (credentials.length === 0) throw new Error('no credentials to send');
  const pick = weightedPicker(options.workload.requests);
  const timeline: TimelineSecond[] = [];
  const latenciesMs: number[] = [];
  let ok = 0;
  let failed = 0;
  let credentialBytes = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const secondOf = (now: number): TimelineSecond => {
    const t = Math.floor((now - started) / 1000);
    while (timeline.length <= t) {
      const last = timeline.at(-1);
      if (last !== undefined) options.onSecond?.(last);
      timeline.push({ t: timeline.length, ok: 0, failed: 0, statuses: {} });
    }
    return timeline[t] as TimelineSecond;
  };
  const chooseGateway = (credential: Credential, turn: number): GatewayTarget | undefined => {
    const home = gateways[credential.home];
    if (sticky && home?.alive === true) return home;
    const live = gateways.filter((gateway) => gateway.alive);
    return live[turn % Math.max(live.length, 1)];
  };

  const caller = async () => {
    while (performance.now() < deadline && options.signal?.aborted !== true) {
      const turn = next++;
      const credential = credentials[turn % credentials.length] as Credential;
      const request = pick();
      const gateway = chooseGateway(credential, turn);
      const url = `${options.edgeOrigin}${request.path}`;
      const body = request.body === undefined ? undefined : JSON.stringify(request.body);
      const begin = performance.now();
      let status = 0;
      if (gateway !== undefined) {
        try {
          // A second send only when the answer asks for one (a DPoP nonce), with fresh headers.
          for (let attempt = 0; attempt < 2; attempt++) {
            const headers = credential.headers(request.method, url);
            for (const value of Object.values(headers)) credentialBytes += Buffer.byteLength(value);
            if (body !== undefined) headers['content-type'] = 'application/json';
            const response = await gateway.pool.request({
              method: request.method as 'GET',
              path: request.path,
              headers,
              ...(body === undefined ? {} : { body }),
            });
            await response.body.dump();
            status = response.statusCode;
            const retry = credential.answered?.(status, (name) => headerOf(response.headers[name]));
            if (retry !== true) break;
          }
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET')
            gateway.alive = false;
        }
      }
      const end = performance.now();
      const second = secondOf(end - started > durationMs ? deadline - 1 : end);
      second.statuses[String(status)] = (second.statuses[String(status)] ?? 0) + 1;
      if (status >= 200 && status < 400) {
        ok++;
        second.ok++;
        latenciesMs.push(end - begin);
      } else {
        failed++;
        second.failed++;
        if (status !== 0) latenciesMs.push(end - begin);
        // Failing fast must not turn into a busy loop against a dead part.
        if (status === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if ((options.pauseMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  };
  secondOf(started);
  await Promise.all(Array.from({ length: connections }, caller));
  const last = timeline.at(-1);
  if (last !== undefined) options.onSecond?.(last);
  return {
    requests: ok + failed,
    ok,
    failed,
    latenciesMs,
    timeline,
    credentialBytes,
    elapsedMs: performance.now() - started,
  };
}

/** One header of an undici answer as text (the first of a repeated one). */
function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The `q` quantile (0-1) of `values`, or null for none. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? null;
}
