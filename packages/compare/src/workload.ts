import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

/** One kind of request of a workload; `weight` is its share of the mix. */
export interface WorkloadRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly weight: number;
}

export interface Workload {
  /** Where it came from, for the report: `shop` or the file. */
  readonly name: string;
  readonly requests: readonly WorkloadRequest[];
}

/** The shop's mix: list items (one hop), list orders (one hop), place an order (three hops). */
export const shopWorkload: Workload = Object.freeze({
  name: 'shop',
  requests: Object.freeze([
    { method: 'GET', path: '/api/inventory/items', weight: 4 },
    { method: 'GET', path: '/api/orders/orders', weight: 4 },
    { method: 'POST', path: '/api/orders/orders', body: { item: 'tessera-red', quantity: 1 }, weight: 2 },
  ]),
});

const workloadFileSchema = z
  .array(
    z.strictObject({
      method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
      path: z.string().regex(/^\/[^\s]*$/, 'a path starting with /'),
      body: z.unknown().optional(),
      weight: z.number().positive().default(1),
    }),
  )
  .min(1);

/** Reads a YAML (or JSON) list of `{ method, path, body, weight }`; a bad file is a clear error. */
export function loadWorkload(file: string): Workload {
  let parsed: unknown;
  try {
    parsed = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`--workload ${file}: ${(error as Error).message.split('\n')[0]}`);
  }
  const result = workloadFileSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(
      `--workload ${file}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`.trim(),
    );
  }
  return {
    name: file,
    requests: result.data.map((request) => ({
      method: request.method,
      path: request.path,
      weight: request.weight,
      ...(request.body === undefined ? {} : { body: request.body }),
    })),
  };
}

/** Picks requests in proportion to their weights, deterministically (a smooth weighted round robin). */
export function weightedPicker(requests: readonly WorkloadRequest[]): () => WorkloadRequest {
  const current = requests.map(() => 0);
  const total = requests.reduce((sum, request) => sum + request.weight, 0);
  return () => {
    let best = 0;
    for (let i = 0; i < requests.length; i++) {
      current[i] = (current[i] ?? 0) + (requests[i]?.weight ?? 0);
      if ((current[i] ?? 0) > (current[best] ?? 0)) best = i;
    }
    current[best] = (current[best] ?? 0) - total;
    return requests[best] as WorkloadRequest;
  };
}
