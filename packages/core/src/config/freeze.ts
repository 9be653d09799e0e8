/** Readonly all the way down, as the loader's result is at run time. */
export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly (infer Item)[]
    ? readonly DeepReadonly<Item>[]
    : T extends object
      ? { readonly [Key in keyof T]: DeepReadonly<T[Key]> }
      : T;

/**
 * Freezes `value` and every object and array reachable from it. A frozen config cannot be
 * changed by a module that holds it, so what was validated at start is what runs.
 */
export function deepFreeze<T>(value: T): DeepReadonly<T> {
  freeze(value, new Set());
  return value as DeepReadonly<T>;
}

function freeze(value: unknown, seen: Set<object>): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  for (const key of Reflect.ownKeys(value)) {
    freeze((value as Record<PropertyKey, unknown>)[key], seen);
  }
  Object.freeze(value);
}
