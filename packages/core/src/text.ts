const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  // Old browsers ended an unquoted attribute at a backtick; escaping it costs nothing.
  '`': '&#96;',
};

/**
 * Escapes text for HTML element content and quoted attribute values: the one escape every page
 * Tessera writes uses (the token service's sign-in pages, the gateway's demo page, compare's report).
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * Lays out rows as aligned columns, two spaces apart, the first row being the header: what the
 * command prints (`tessera clients list`, the table at the end of `tessera compare`).
 */
export function textTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
