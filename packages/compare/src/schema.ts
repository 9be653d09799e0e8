import { z } from 'zod';

/**
 * The report `tessera compare --json FILE` writes. This schema is its documentation: the shape is
 * stable, every object strict, and a value a mode cannot have is `null`, never invented.
 */

/** The modes, each a row of the report. */
export const modeNames = [
  'session-memory',
  'session-redis',
  'token',
  'token-nocache',
  'hybrid',
  'token-dpop',
] as const;
export type ModeName = (typeof modeNames)[number];

/** The faults, each with a per-second timeline. */
export const faultNames = ['gateway_killed', 'store_down', 'token_service_down', 'key_rotated'] as const;
export type FaultName = (typeof faultNames)[number];

const milliseconds = z.number().nonnegative();

export const hopSchema = z.strictObject({
  /** The shop service this hop reaches (orders, inventory, payments). */
  service: z.string(),
  /** Median time the service took to answer, its own downstream calls included. */
  p50_ms: milliseconds.nullable(),
  /** Mean bytes of credentials the service received per request (bearer token or session reference). */
  credential_bytes: z.number().nonnegative().nullable(),
});

export const costSchema = z.strictObject({
  requests_per_s: z.number().nonnegative(),
  p50_ms: milliseconds.nullable(),
  p99_ms: milliseconds.nullable(),
  hops: z.array(hopSchema),
  /** Mean bytes of credentials per request at the edge (cookie, or bearer token). */
  edge_credential_bytes: z.number().nonnegative().nullable(),
  /** Session-store commands per edge request (Redis INFO commandstats deltas); null without a shared store. */
  store_ops_per_request: z.number().nonnegative().nullable(),
  /** Requests the token service answered per edge request. */
  token_service_calls_per_request: z.number().nonnegative().nullable(),
  /** CPU milliseconds each process spent per 1,000 edge requests, by process name. */
  cpu_ms_per_1000: z.record(z.string(), z.number().nonnegative()),
});

export const timelineSecondSchema = z.strictObject({
  /** Seconds since the fault's load began. */
  t: z.number().int().nonnegative(),
  ok: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  /** Answers by HTTP status; `0` counts requests that got no answer (refused, reset, timed out). */
  statuses: z.record(z.string(), z.number().int().nonnegative()),
});

export const faultSchema = z.strictObject({
  fault: z.enum(faultNames),
  timeline: z.array(timelineSecondSchema),
  failed_requests: z.number().int().nonnegative(),
  /** Credentials that no longer worked afterwards (gateway_killed); null where a fault cannot lose any. */
  credentials_lost: z.number().int().nonnegative().nullable(),
  /** Seconds from the end of the fault to the first second without failures; 0 when none failed; null if never. */
  recovered_after_s: z.number().nonnegative().nullable(),
});

export const revocationSchema = z.strictObject({
  /**
   * `logout` (cookie modes), `revoke` (token and token-dpop modes: services and gateway on pushed
   * revocation events) or `revoke-without-events` (token-nocache: nothing pushed, a token is good until it expires).
   */
  via: z.string(),
  /** From the logout or revocation to the first rejection, by service; null if it never came within the bound. */
  first_rejection_ms: z.record(z.string(), milliseconds.nullable()),
});

export const propagationSchema = z.strictObject({
  service: z.string(),
  /** What the service could establish about the caller from what it received. */
  proved: z.array(z.string()),
  /** Whom it had to ask to establish it: `store`, `token service`, or `nobody`. */
  asked: z.array(z.string()),
});

export const modeReportSchema = z.strictObject({
  mode: z.enum(modeNames),
  cost: costSchema,
  faults: z.array(faultSchema),
  /** From logout or /revoke to the first rejection; null where it was not measured. */
  revocation: revocationSchema.nullable(),
  propagation: z.array(propagationSchema),
  /**
   * A bound token (token-dpop) sent alone, under `Bearer` and with no proof, as one copied out of
   * a request would be: the status the edge and each service answered (401 is a refusal). Null in
   * the modes whose credential is not bound to a key.
   */
  unproved_token: z.record(z.string(), z.number().int().nonnegative()).nullable(),
});

export const reportSchema = z.strictObject({
  /** The version of Tessera that made the report. */
  version: z.string(),
  machine: z.strictObject({
    cpus: z.number().int().positive(),
    cpu_model: z.string(),
    memory_mb: z.number().int().nonnegative(),
    platform: z.string(),
    node: z.string(),
  }),
  settings: z.strictObject({
    quick: z.boolean(),
    duration_s: z.number().positive(),
    connections: z.number().int().positive(),
    hop_latency_ms: z.number().nonnegative(),
    credentials: z.number().int().positive(),
    workload: z.string(),
    modes: z.array(z.enum(modeNames)),
    faults: z.array(z.enum(faultNames)),
    started_at: z.string(),
  }),
  modes: z.array(modeReportSchema),
});

export type Hop = z.infer<typeof hopSchema>;
export type Cost = z.infer<typeof costSchema>;
export type TimelineSecond = z.infer<typeof timelineSecondSchema>;
export type FaultReport = z.infer<typeof faultSchema>;
export type RevocationReport = z.infer<typeof revocationSchema>;
export type PropagationReport = z.infer<typeof propagationSchema>;
export type ModeReport = z.infer<typeof modeReportSchema>;
export type CompareReport = z.infer<typeof reportSchema>;
