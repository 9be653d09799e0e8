import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { escapeHtml } from '@tessera/core';
import type { CompareReport } from './schema.js';

const cell = (value: number | string | null | undefined): string =>
  `<td>${value === null || value === undefined ? '&ndash;' : escapeHtml(String(value))}</td>`;

/** uPlot (a small, well-kept chart library), inlined so the page needs no network. */
function chartLibrary(): { script: string; style: string } {
  const require = createRequire(import.meta.url);
  const main = require.resolve('uplot/dist/uPlot.iife.min.js');
  return {
    script: readFileSync(main, 'utf8'),
    style: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
}

/** JSON safe inside a <script> element. */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

/** Draws every chart from the embedded report; each chart marks itself `data-drawn` once drawn. */
const DRAW = `
(function () {
  var report = JSON.parse(document.getElementById('report-data').textContent);
  var palette = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#57606a'];
  function width(el) { return Math.max(240, Math.min(el.clientWidth, 1000)); }
  var charts = [];
  function chart(id, opts, data) {
    var el = document.getElementById(id);
    opts.width = width(el);
    opts.height = 220;
    opts.hooks = { ready: [function () { el.setAttribute('data-drawn', 'true'); }] };
    charts.push([el, new uPlot(opts, data, el)]);
  }
  var modes = report.modes.map(function (m) { return m.mode; });
  var x = modes.map(function (_, i) { return i; });
  var bars = uPlot.paths.bars({ size: [0.6, 60] });
  function modeAxis() {
    return { values: function (u, splits) { return splits.map(function (s) { return Number.isInteger(s) ? (modes[s] || '') : ''; }); }, size: 40 };
  }
  // The value axis is as wide as its longest label (uPlot's fixed default cuts "12,500" to "2,500").
  function valueAxis(extra) {
    var axis = { size: function (u, values, axisIdx, cycle) {
      var own = u.axes[axisIdx];
      if (cycle > 1 && own._size) return own._size;
      var longest = (values || []).reduce(function (a, v) { return String(v).length > a.length ? String(v) : a; }, '');
      u.ctx.font = own.font[0];
      return Math.ceil(own.ticks.size + own.gap + u.ctx.measureText(longest).width / (window.devicePixelRatio || 1)) + 4;
    } };
    return Object.assign(axis, extra || {});
  }
  function series(label, i, barsToo) {
    return { label: label, stroke: palette[i % palette.length], fill: barsToo ? palette[i % palette.length] + '88' : undefined, width: 2, paths: barsToo ? bars : undefined, points: { show: !barsToo } };
  }
  var scaleX = { x: { time: false, range: [-0.5, modes.length - 0.5] }, y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } };
  chart('chart-throughput', { title: 'Requests per second', scales: scaleX, axes: [modeAxis(), valueAxis()], series: [{}, series('req/s', 0, true)] },
    [x, report.modes.map(function (m) { return m.cost.requests_per_s; })]);
  chart('chart-latency', { title: 'Latency at the edge (ms)', scales: scaleX, axes: [modeAxis(), valueAxis()], series: [{}, series('p50', 0), series('p99', 1)] },
    [x, report.modes.map(function (m) { return m.cost.p50_ms; }), report.modes.map(function (m) { return m.cost.p99_ms; })]);
  var hopNames = ['orders', 'inventory', 'payments'];
  chart('chart-hops', { title: 'p50 per hop (ms)', scales: scaleX, axes: [modeAxis(), valueAxis()], series: [{}].concat(hopNames.map(function (h, i) { return series(h, i); })) },
    [x].concat(hopNames.map(function (h) { return report.modes.map(function (m) { var hop = m.cost.hops.find(function (e) { return e.service === h; }); return hop ? hop.p50_ms : null; }); })));
  chart('chart-store', { title: 'Store operations and token-service calls per request', scales: scaleX, axes: [modeAxis(), valueAxis()], series: [{}, series('store ops', 2), series('token service', 4)] },
    [x, report.modes.map(function (m) { return m.cost.store_ops_per_request; }), report.modes.map(function (m) { return m.cost.token_service_calls_per_request; })]);
  report.modes.forEach(function (m, mi) {
    m.faults.forEach(function (f, fi) {
      var t = f.timeline.map(function (s) { return s.t; });
      chart('chart-fault-' + mi + '-' + fi, { title: m.mode + ': ' + f.fault, scales: { x: { time: false } }, axes: [{ label: 's' }, valueAxis()], series: [{}, series('ok', 2), series('failed', 1)] },
        [t, f.timeline.map(function (s) { return s.ok; }), f.timeline.map(function (s) { return s.failed; })]);
    });
  });
  window.addEventListener('resize', function () {
    charts.forEach(function (pair) { pair[1].setSize({ width: width(pair[0]), height: 220 }); });
  });
})();
`;

/** One self-contained page: the chart library, the data and the styles are inlined; nothing is fetched. */
export function reportHtml(report: CompareReport): string {
  const { script, style } = chartLibrary();
  const costRows = report.modes
    .map(
      (row) =>
        `<tr><th>${escapeHtml(row.mode)}</th>${cell(row.cost.requests_per_s)}${cell(row.cost.p50_ms)}${cell(row.cost.p99_ms)}${cell(row.cost.store_ops_per_request)}${cell(row.cost.token_service_calls_per_request)}${cell(row.cost.edge_credential_bytes)}${cell(row.cost.hops.map((hop) => hop.credential_bytes ?? '–').join(' / '))}</tr>`,
    )
    .join('');
  const cpuRows = report.modes
    .map(
      (row) =>
        `<tr><th>${escapeHtml(row.mode)}</th>${cell(
          Object.entries(row.cost.cpu_ms_per_1000)
            .map(([name, ms]) => `${name} ${ms}`)
            .join(', '),
        )}</tr>`,
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
  const faultCharts = report.modes
    .flatMap((row, mi) => row.faults.map((_, fi) => `<div class="chart" id="chart-fault-${mi}-${fi}"></div>`))
    .join('\n');
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
  const propagationRows = report.modes
    .flatMap((row) =>
      row.propagation.map(
        (hop) =>
          `<tr><th>${escapeHtml(row.mode)}</th>${cell(hop.service)}${cell(hop.proved.join('; '))}${cell(hop.asked.join('; '))}</tr>`,
      ),
    )
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tessera compare</title>
<style>${style}</style>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 12px; max-width: 1024px; color: #1d232a; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; min-width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #d8dde3; white-space: nowrap; }
td { font-variant-numeric: tabular-nums; }
.chart { margin: 12px 0; overflow: hidden; }
</style>
</head>
<body>
<h1>tessera compare</h1>
<p>${escapeHtml(report.machine.cpu_model)}, ${report.machine.cpus} CPUs, Node ${escapeHtml(report.machine.node)}; ${report.settings.quick ? 'quick run' : 'full run'}, ${report.settings.connections} connections, hop latency ${report.settings.hop_latency_ms} ms, workload ${escapeHtml(report.settings.workload)}; ${escapeHtml(report.settings.started_at)}; tessera ${escapeHtml(report.version)}</p>
<h2>Cost</h2>
<div class="chart" id="chart-throughput"></div>
<div class="chart" id="chart-latency"></div>
<div class="chart" id="chart-hops"></div>
<div class="chart" id="chart-store"></div>
<div class="scroll"><table><tr><th>mode</th><th>req/s</th><th>p50 ms</th><th>p99 ms</th><th>store ops/req</th><th>token service calls/req</th><th>edge credential bytes</th><th>hop credential bytes</th></tr>${costRows}</table></div>
<h2>CPU ms per 1,000 requests</h2>
<div class="scroll"><table><tr><th>mode</th><th>by process</th></tr>${cpuRows}</table></div>
<h2>Faults</h2>
${faultCharts}
<div class="scroll"><table><tr><th>mode</th><th>fault</th><th>failed</th><th>credentials lost</th><th>recovered after s</th></tr>${faultRows}</table></div>
<h2>Revocation</h2>
<div class="scroll"><table><tr><th>mode</th><th>via</th><th>first rejection</th></tr>${revocationRows}</table></div>
<h2>Propagation</h2>
<div class="scroll"><table><tr><th>mode</th><th>hop</th><th>proved</th><th>asked</th></tr>${propagationRows}</table></div>
<script type="application/json" id="report-data">${scriptJson(report)}</script>
<script>${script.replace(/<\/script/gi, '<\\/script')}</script>
<script>${DRAW}</script>
</body>
</html>
`;
}
