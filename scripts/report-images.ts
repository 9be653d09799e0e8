// Pictures of a `tessera compare --html` report's charts, for docs/trade-offs.md:
//   npx tsx scripts/report-images.ts report.html docs/trade-offs
// writes throughput.png, latency.png, hops.png, store.png and <mode>-<fault>.png for every fault
// timeline, each drawn by the report's own page in Debian's Chromium at desktop width.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from '../test/support/chromium.js';

const [html, out] = process.argv.slice(2);
if (html === undefined || out === undefined) {
  process.stderr.write('usage: npx tsx scripts/report-images.ts REPORT.html OUT_DIR\n');
  process.exit(2);
}
await mkdir(out, { recursive: true });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1024, height: 900 } });
  await page.goto(pathToFileURL(resolve(html)).href);
  const report = JSON.parse((await page.locator('#report-data').textContent()) ?? '{}') as {
    modes: { mode: string; faults: { fault: string }[] }[];
  };
  const charts: [string, string][] = ['throughput', 'latency', 'hops', 'store'].map((name) => [
    `#chart-${name}`,
    name,
  ]);
  report.modes.forEach((row, mi) => {
    row.faults.forEach((fault, fi) => {
      charts.push([`#chart-fault-${mi}-${fi}`, `${row.mode}-${fault.fault}`]);
    });
  });
  for (const [selector, name] of charts) {
    const chart = page.locator(selector);
    await page.locator(`${selector}[data-drawn="true"] canvas`).waitFor();
    await chart.screenshot({ path: join(out, `${name}.png`) });
    process.stdout.write(`${join(out, `${name}.png`)}\n`);
  }
} finally {
  await browser.close();
}
