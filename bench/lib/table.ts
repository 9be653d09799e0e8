// The markdown tables the READMEs quote.

/**
 * Prints a blank line, a header row, its alignment row (the first `textColumns` columns left, the
 * figures right) and the rows.
 */
export function printTable(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  textColumns = 1,
): void {
  console.log(`\n| ${header.join(' | ')} |`);
  console.log(`|${header.map((_, i) => (i < textColumns ? '---|' : '---:|')).join('')}`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

/** Requests or operations per second, rounded, with thousands separators. */
export function rate(perSecond: number): string {
  return Math.round(perSecond).toLocaleString('en-US');
}

export function ratio(value: number, base: number): string {
  return (value / base).toFixed(2);
}
