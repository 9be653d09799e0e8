import * as z from 'zod';

/**
 * Walking a consumer's zod schema: making every object in it refuse unknown keys, and finding
 * the schema under a path so environment variables can be matched to keys and typed.
 *
 * Only the schema kinds a config uses are walked; anything else is left as the consumer wrote it.
 */

const strictCache = new WeakMap<z.core.$ZodType, z.core.$ZodType>();

/**
 * A copy of `schema` in which every object that would silently strip unknown keys (the zod
 * default) refuses them instead. An object with an explicit catchall (`z.looseObject`,
 * `.catchall(...)`) keeps it: the consumer asked for open keys there.
 */
export function strictSchema<S extends z.core.$ZodType>(schema: S): S {
  return strictify(schema) as S;
}

function strictify(schema: z.core.$ZodType): z.core.$ZodType {
  const cached = strictCache.get(schema);
  if (cached !== undefined) return cached;
  const result = strictifyUncached(schema);
  strictCache.set(schema, result);
  return result;
}

function strictifyUncached(schema: z.core.$ZodType): z.core.$ZodType {
  if (schema instanceof z.ZodObject) {
    const shape: Record<string, z.core.$ZodType> = {};
    for (const [key, value] of Object.entries(schema.def.shape)) shape[key] = strictify(value);
    return schema.clone({ ...schema.def, shape, catchall: schema.def.catchall ?? z.never() });
  }
  // Each wrapper keeps its own def (default value, catch value...) and gets a strict inner schema.
  if (schema instanceof z.ZodOptional)
    return schema.clone({ ...schema.def, innerType: strictify(schema.def.innerType) });
  if (schema instanceof z.ZodNullable)
    return schema.clone({ ...schema.def, innerType: strictify(schema.def.innerType) });
  if (schema instanceof z.ZodDefault)
    return schema.clone({ ...schema.def, innerType: strictify(schema.def.innerType) });
  if (schema instanceof z.ZodPrefault)
    return schema.clone({ ...schema.def, innerType: strictify(schema.def.innerType) });
  if (schema instanceof z.ZodCatch)
    return schema.clone({ ...schema.def, innerType: strictify(schema.def.innerType) });
  if (schema instanceof z.ZodReadonly)
    return schema.clone({ ...schema.def, innerType: strictify(schema.def.innerType) });
  if (schema instanceof z.ZodNonOptional) {
    return schema.clone({ ...schema.def, innerType: strictify(schema.def.innerType) });
  }
  if (schema instanceof z.ZodArray) {
    return schema.clone({ ...schema.def, element: strictify(schema.def.element) });
  }
  if (schema instanceof z.ZodRecord) {
    return schema.clone({ ...schema.def, valueType: strictify(schema.def.valueType) });
  }
  if (schema instanceof z.ZodUnion) {
    return schema.clone({ ...schema.def, options: schema.def.options.map(strictify) });
  }
  if (schema instanceof z.ZodIntersection) {
    return schema.clone({
      ...schema.def,
      left: strictify(schema.def.left),
      right: strictify(schema.def.right),
    });
  }
  if (schema instanceof z.ZodPipe) {
    return schema.clone({ ...schema.def, in: strictify(schema.def.in) });
  }
  return schema;
}

/** The schema that decides what a value must look like, under wrappers that only add defaults etc. */
export function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  for (let depth = 0; depth < 64; depth++) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodCatch ||
      current instanceof z.ZodReadonly ||
      current instanceof z.ZodNonOptional
    ) {
      current = current.def.innerType;
    } else if (current instanceof z.ZodPipe) {
      current = current.def.in;
    } else if (current instanceof z.ZodLazy) {
      current = current.def.getter();
    } else {
      return current;
    }
  }
  return current;
}

/** Keys compare without case and underscores, so `KEY_PREFIX`, `key_prefix` and `keyPrefix` match. */
export function normalizeKey(key: string): string {
  return key.replaceAll('_', '').toLowerCase();
}

export type ChildLookup =
  | { readonly found: true; readonly key: string; readonly schema: z.core.$ZodType }
  | { readonly found: false; readonly reason: string };

/**
 * The key and schema one level below `schema` that an environment-variable segment names.
 * `existingKeys` are the keys already present at that level (from the file), so a record key
 * written in the file in any case is matched rather than duplicated.
 */
export function childOf(
  schema: z.core.$ZodType,
  segment: string,
  existingKeys: readonly string[],
): ChildLookup {
  const node = unwrap(schema);
  const wanted = normalizeKey(segment);
  if (node instanceof z.ZodObject) {
    for (const [key, child] of Object.entries(node.def.shape)) {
      if (normalizeKey(key) === wanted) return { found: true, key, schema: child };
    }
    const catchall = node.def.catchall;
    if (catchall !== undefined && !(unwrap(catchall) instanceof z.ZodNever)) {
      return {
        found: true,
        key: existingKey(existingKeys, wanted) ?? segment.toLowerCase(),
        schema: catchall,
      };
    }
    return { found: false, reason: 'unknown key' };
  }
  if (node instanceof z.ZodRecord) {
    return {
      found: true,
      key: existingKey(existingKeys, wanted) ?? segment.toLowerCase(),
      schema: node.def.valueType,
    };
  }
  if (node instanceof z.ZodUnion) {
    for (const option of node.def.options) {
      const lookup = childOf(option, segment, existingKeys);
      if (lookup.found) return lookup;
    }
    return { found: false, reason: 'unknown key' };
  }
  if (node instanceof z.ZodIntersection) {
    const left = childOf(node.def.left, segment, existingKeys);
    return left.found ? left : childOf(node.def.right, segment, existingKeys);
  }
  return {
    found: false,
    reason: `cannot set a field inside ${kindOfSchema(node)}; set the whole value as JSON`,
  };
}

function existingKey(keys: readonly string[], wanted: string): string | undefined {
  return keys.find((key) => normalizeKey(key) === wanted);
}

function kindOfSchema(schema: z.core.$ZodType): string {
  const kind = schema._zod.def.type;
  return /^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}

/**
 * Whether a value for this schema must stay the raw string of the environment variable: a
 * password of digits or a prefix like `0123` must not become a number on the way in.
 */
export function expectsString(schema: z.core.$ZodType): boolean {
  const node = unwrap(schema);
  if (
    node instanceof z.ZodString ||
    node instanceof z.ZodStringFormat ||
    node instanceof z.ZodTemplateLiteral
  ) {
    return true;
  }
  if (node instanceof z.ZodEnum) return Object.values(node.def.entries).every((v) => typeof v === 'string');
  if (node instanceof z.ZodLiteral) return node.def.values.every((v) => typeof v === 'string');
  if (node instanceof z.ZodUnion) return node.def.options.every((option) => expectsString(option));
  return false;
}
