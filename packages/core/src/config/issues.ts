import type * as z from 'zod';
import { getPath } from './merge.js';

/** A zod issue restated as a field path and what was expected there, with no input value in it. */
export interface IssueDescription {
  readonly path: readonly PropertyKey[];
  readonly expected: string;
}

export function describeIssue(issue: z.core.$ZodIssue, input: unknown): IssueDescription[] {
  const path = issue.path;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...path, key], expected: 'unknown key' }));
    case 'invalid_type': {
      const value = getPath(input, path);
      const expected = typeName(issue.expected);
      return [
        {
          path,
          expected:
            value === undefined
              ? `required, expected ${expected}`
              : `expected ${expected}, got ${kindOf(value)}`,
        },
      ];
    }
    case 'invalid_value': {
      const values = issue.values.map(literal);
      return [
        {
          path,
          expected: values.length === 1 ? `expected ${values[0]}` : `expected one of ${values.join(', ')}`,
        },
      ];
    }
    case 'invalid_union':
      return [{ path, expected: describeUnion(issue, getPath(input, path)) }];
    default:
      return [{ path, expected: restate(issue.message) }];
  }
}

/** `expected string or number` when every branch failed on the type alone. */
function describeUnion(issue: z.core.$ZodIssueInvalidUnion, value: unknown): string {
  if (issue.discriminator !== undefined) {
    // zod usually ends the path with the discriminator already; name it only when it does not.
    const field = issue.path.at(-1) === issue.discriminator ? '' : `${issue.discriminator}: `;
    const options = ('options' in issue ? issue.options : undefined)?.map(literal) ?? [];
    return options.length > 0
      ? `${field}expected one of ${options.join(', ')}`
      : `${field}not an allowed value`;
  }
  const types: string[] = [];
  for (const branch of issue.errors) {
    const [only] = branch;
    if (branch.length !== 1 || only === undefined || only.code !== 'invalid_type' || only.path.length > 0) {
      return 'does not match any allowed form';
    }
    types.push(typeName(only.expected));
  }
  const got = value === undefined ? 'nothing' : kindOf(value);
  return types.length > 0
    ? `expected ${[...new Set(types)].join(' or ')}, got ${got}`
    : 'does not match any allowed form';
}

function typeName(expected: string): string {
  return expected === 'int' ? 'integer' : expected;
}

/** The JSON kind of a value: its type, never the value itself. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function literal(value: unknown): string {
  return typeof value === 'bigint' ? `${value}` : (JSON.stringify(value) ?? String(value));
}

/** zod's "Too small: expected string to have >=2 characters" becomes "expected string to have >=2 characters". */
function restate(message: string): string {
  const text = message.replace(
    /^(Too small|Too big|Invalid input|Invalid string|Invalid option|Invalid key|Invalid element): /,
    '',
  );
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  // Lowercase a leading word ("Invalid URL" -> "invalid URL") but not an acronym.
  return /^[A-Z][a-z]/.test(firstLine) ? firstLine[0]?.toLowerCase() + firstLine.slice(1) : firstLine;
}

/** `redis.port`, `clients[0].id`. */
export function displayPath(path: readonly PropertyKey[]): string {
  let result = '';
  for (const key of path) {
    if (typeof key === 'number') result += `[${key}]`;
    else result += result === '' ? String(key) : `.${String(key)}`;
  }
  return result;
}
