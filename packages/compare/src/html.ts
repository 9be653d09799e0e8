import type { CompareReport } from './schema.js';

const escapeHtml = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const cell = (value: number | string | null | undefined): string =>
  `<td>${value === null || value === undefined ? '&ndash;' : escapeHtml(String(value))}</td>`;

/** One self-contained page: no request leaves it (the data and the styles are inlined). */
export function reportHtml(report: CompareReport): string {
  const costRows = report.modes
    .map(
      (row) =>
        `<tr><th>${escapeHtml(row.mode)}</th>${cell(row.cost.requests_per_s)}${cell(row.cost.p50_ms)}${cell(row.cost.p99_ms)}${cell(row.cost.store_ops_per_request)}${cell(row.cost.token_service_calls_per_request)}${cell(row.cost.edge_credential_bytes)}</tr>`,
    )
    .join('');
  const faultRows = report.modes
    .flatMap((row) =>
      row.faults.map(
        (fault) =>
          `<tr><th>${escapeHtml(row.mode)}</th>${cell(fault.fault)}${cell(fault.failed_requests)}${cell(fault.credentials_lost)}${cell(fault.recovered_after_s)}</tr>`,
      ),
    )
    .join('');
  const revocationRows = report.modes
    .map(
      (row) =>
        `<tr><th>${escapeHtml(row.mode)}</th>${cell(row.revocation?.via)}${cell(
          row.revocation === null
            ? null
            : Object.entries(row.revocation.first_rejection_ms)
                .map(([where, ms]) => `${where} ${ms === null ? 'never' : `${ms} ms`}`)
                .join(', '),
        )}</tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tessera compare</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 12px; max-width: 1100px; color: #1d232a; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; min-width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #d8dde3; white-space: nowrap; }
td { font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<h1>tessera compare</h1>
<p>${escapeHtml(report.machine.cpu_model)}, ${report.machine.cpus} CPUs, Node ${escapeHtml(report.machine.node)}; ${report.settings.quick ? 'quick run' : 'full run'}, ${report.settings.connections} connections, hop latency ${report.settings.hop_latency_ms} ms, workload ${escapeHtml(report.settings.workload)}; ${escapeHtml(report.settings.started_at)}</p>
<h2>Cost</h2>
<div class="scroll"><table><tr><th>mode</th><th>req/s</th><th>p50 ms</th><th>p99 ms</th><th>store ops/req</th><th>token service calls/req</th><th>edge credential bytes</th></tr>${costRows}</table></div>
<h2>Faults</h2>
<div class="scroll"><table><tr><th>mode</th><th>fault</th><th>failed</th><th>credentials lost</th><th>recovered after s</th></tr>${faultRows}</table></div>
<h2>Revocation</h2>
<div class="scroll"><table><tr><th>mode</th><th>via</th><th>first rejection</th></tr>${revocationRows}</table></div>
</body>
</html>
`;
}
