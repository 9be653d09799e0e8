// Redis accepts only the canonical decimal form of a 64-bit integer; the other adapters accept the
// same form (limited to safe integers) so a counter behaves alike everywhere.
const integerForm = /^-?(0|[1-9][0-9]*)$/;

/** The integer a stored string holds, or undefined when it is not a counter. */
export function parseCounter(value: string): number | undefined {
  if (!integerForm.test(value)) return undefined;
  const parsed = Number(value);
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}
