import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../errors/config.js';

/** A config file bigger than this is refused: a config is a page of settings, not a data set. */
const MAX_FILE_BYTES = 1024 * 1024;

export interface ConfigFileContent {
  /** The parsed document; `{}` for an empty file. */
  readonly data: unknown;
  /** The line a path starts at in the file, when the format keeps positions (YAML). */
  readonly lineOf: (path: readonly PropertyKey[]) => number | undefined;
}

/**
 * Reads and parses a `.yaml`, `.yml` or `.json` config file. Error messages name the file and
 * the position but never quote the file's text: it may hold a secret.
 */
export function readConfigFile(file: string): ConfigFileContent {
  const format = formatOf(file);
  const text = readText(file);
  return format === 'json' ? parseJson(file, text) : parseYaml(file, text);
}

function formatOf(file: string): 'json' | 'yaml' {
  const extension = extname(file).toLowerCase();
  if (extension === '.json') return 'json';
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  throw new ConfigError(
    'ERR_CONFIG_FILE_UNREADABLE',
    `config file ${file}: unsupported extension "${extension}" (use .yaml, .yml or .json)`,
  );
}

function readText(file: string): string {
  let size: number;
  try {
    const stat = statSync(file);
    if (stat.isDirectory()) {
      throw new ConfigError('ERR_CONFIG_FILE_UNREADABLE', `config file ${file}: is a directory, not a file`);
    }
    size = stat.size;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw unreadable(file, error);
  }
  if (size > MAX_FILE_BYTES) {
    throw new ConfigError(
      'ERR_CONFIG_FILE_UNREADABLE',
      `config file ${file}: larger than ${MAX_FILE_BYTES} bytes, refused`,
    );
  }
  try {
    // A byte-order mark is not part of the document; editors on some systems write one.
    return readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    throw unreadable(file, error);
  }
}

function unreadable(file: string, cause: unknown): ConfigError {
  const code = (cause as { code?: unknown } | null)?.code;
  const reason =
    code === 'ENOENT'
      ? 'does not exist'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : typeof code === 'string'
          ? `cannot be read (${code})`
          : 'cannot be read';
  return new ConfigError('ERR_CONFIG_FILE_UNREADABLE', `config file ${file}: ${reason}`, { cause });
}

function parseYaml(file: string, text: string): ConfigFileContent {
  const lineCounter = new LineCounter();
  // `yaml` defaults to YAML 1.2 core schema (so `on`/`no` stay strings), refuses duplicate keys
  // and caps alias expansion, which keeps a hostile file from blowing up memory.
  const document = parseDocument(text, { lineCounter, prettyErrors: true });
  const [first] = document.errors;
  if (first !== undefined) {
    const position = first.linePos?.[0];
    const where = position === undefined ? '' : ` at line ${position.line}, column ${position.col}`;
    throw new ConfigError(
      'ERR_CONFIG_PARSE',
      `config file ${file}: invalid YAML${where}: ${first.code.toLowerCase().replaceAll('_', ' ')}`,
    );
  }
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: 100 });
  } catch {
    // An unresolved alias, or aliases expanding past the cap (a "billion laughs" file).
    throw new ConfigError('ERR_CONFIG_PARSE', `config file ${file}: invalid YAML: bad or excessive aliases`);
  }
  return {
    data: data ?? {},
    lineOf(path) {
      // The node itself, or for a missing key the nearest ancestor that is in the file.
      for (let length = path.length; length >= 0; length--) {
        const node: unknown = document.getIn(path.slice(0, length), true);
        const offset = (node as { range?: readonly number[] } | undefined)?.range?.[0];
        if (typeof offset === 'number') return lineCounter.linePos(offset).line;
      }
      return undefined;
    },
  };
}

function parseJson(file: string, text: string): ConfigFileContent {
  let data: unknown;
  try {
    data = text.trim() === '' ? {} : JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      'ERR_CONFIG_PARSE',
      `config file ${file}: invalid JSON${describeJsonError(text, error)}`,
    );
  }
  return { data, lineOf: () => undefined };
}

/**
 * V8's messages sometimes quote the source ("Unexpected token 'x', "...secret..." is not valid
 * JSON"), so only the grammar part before "in JSON at position N" is kept, and the position is
 * turned into a line and column.
 */
function describeJsonError(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  const match = /^([^"]*?) (?:in|after) JSON at position (\d+)/.exec(message);
  if (match?.[1] !== undefined && match[2] !== undefined) {
    const offset = Number(match[2]);
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    return ` at line ${line}, column ${column}: ${match[1].toLowerCase()}`;
  }
  if (message.startsWith('Unexpected end of JSON input')) return ': unexpected end of input';
  return ': unexpected token';
}
