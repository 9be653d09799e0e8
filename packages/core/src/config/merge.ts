/**
 * Layering config sources. Values are copied into fresh objects, never written through the
 * inputs, and keys are defined as own properties so a `__proto__` key in a file stays a key
 * (which the strict schema then refuses) instead of changing a prototype.
 */

export type PlainObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is PlainObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

export function setOwn(target: PlainObject, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `over` laid on `base`: objects merge key by key, anything else (arrays too) replaces. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return copy(base);
  if (!isPlainObject(base) || !isPlainObject(over)) return copy(over);
  const result: PlainObject = {};
  for (const [key, value] of Object.entries(base)) setOwn(result, key, copy(value));
  for (const [key, value] of Object.entries(over)) setOwn(result, key, deepMerge(result[key], value));
  return result;
}

function copy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copy);
  if (!isPlainObject(value)) return value;
  const result: PlainObject = {};
  for (const [key, inner] of Object.entries(value)) setOwn(result, key, copy(inner));
  return result;
}

/** Sets `value` at `path` inside `root`, creating (or replacing non-objects with) objects on the way. */
export function setPath(root: PlainObject, path: readonly string[], value: unknown): void {
  let node = root;
  for (const [index, key] of path.entries()) {
    if (index === path.length - 1) {
      setOwn(node, key, value);
      return;
    }
    const next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (isPlainObject(next)) {
      node = next;
    } else {
      const created: PlainObject = {};
      setOwn(node, key, created);
      node = created;
    }
  }
}

/** The value at `path`, looking only at own keys. */
export function getPath(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (typeof node !== 'object' || node === null || typeof key === 'symbol') return undefined;
    if (!Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}
