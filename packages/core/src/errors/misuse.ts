import table from './codes.json' with { type: 'json' };

/**
 * The misuse codes core defines, with what each means: the ones every package may throw
 * (`ERR_INVALID_OPTION`, `ERR_INVALID_USE`) and core's own. A package adds its own in its
 * misuse registry; no code is defined twice.
 */
export const coreMisuseCodes: Readonly<Record<keyof typeof table.misuse, string>> = table.misuse;

export type CoreMisuseCode = keyof typeof coreMisuseCodes;
