import { textTable } from '@tessera/core';
import type { CompareReport } from './schema.js';

const show = (value: number | null | undefined): string =>
  value === null || value === undefined ? '-' : String(value);

/** The table printed at the end of a run: a row per mode, then the faults and revocation. */
export function reportTable(report: CompareReport): string {
  const cost = textTable([
    [
      'MODE',
      'REQ/S',
      'P50 MS',
      'P99 MS',
      'EDGE CRED B',
      'STORE OPS/REQ',
      'TOKEN SVC/REQ',
      'HOP P50 MS (orders/inventory/payments)',
    ],
    ...report.modes.map((row) => [
      row.mode,
      show(row.cost.requests_per_s),
      show(row.cost.p50_ms),
      show(row.cost.p99_ms),
      show(row.cost.edge_credential_bytes),
      show(row.cost.store_ops_per_request),
      show(row.cost.token_service_calls_per_request),
      row.cost.hops.map((hop) => show(hop.p50_ms)).join(' / '),
    ]),
  ]);
  const faults = textTable([
    ['MODE', 'FAULT', 'FAILED', 'CREDENTIALS LOST', 'RECOVERED AFTER S'],
    ...report.modes.flatMap((row) =>
      row.faults.map((fault) => [
        row.mode,
        fault.fault,
        show(fault.failed_requests),
        show(fault.credentials_lost),
        show(fault.recovered_after_s),
      ]),
    ),
  ]);
  const revocation = textTable([
    ['MODE', 'VIA', 'FIRST REJECTION MS'],
    ...report.modes.map((row) => [
      row.mode,
      row.revocation?.via ?? '-',
      row.revocation === null
        ? '-'
        : Object.entries(row.revocation.first_rejection_ms)
            .map(([where, ms]) => `${where} ${ms === null ? 'never' : ms}`)
            .join(', '),
    ]),
  ]);
  const cpu = textTable([
    ['MODE', 'CPU MS PER 1,000 REQUESTS'],
    ...report.modes.map((row) => [
      row.mode,
      Object.entries(row.cost.cpu_ms_per_1000)
        .map(([name, ms]) => `${name} ${ms}`)
        .join(', '),
    ]),
  ]);
  // Only the modes whose tokens are bound to a key have a stolen token's fate to show.
  const bound = report.modes.filter((row) => row.unproved_token !== null);
  const unproved =
    bound.length === 0
      ? ''
      : `\n\n${textTable([
          ['MODE', 'TOKEN WITHOUT ITS PROOF: STATUS'],
          ...bound.map((row) => [
            row.mode,
            Object.entries(row.unproved_token ?? {})
              .map(([where, status]) => `${where} ${status}`)
              .join(', '),
          ]),
        ])}`;
  return `${cost}\n\n${cpu}\n\n${faults}\n\n${revocation}${unproved}\n`;
}
