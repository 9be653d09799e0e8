import { CommanderError } from 'commander';

/** A usage error: one line on stderr and exit code 2, like commander's own. */
export function usage(message: string): CommanderError {
  return new CommanderError(2, 'tessera.usage', message);
}

/** An option parser for a whole number in [min, max], refusing anything else as a usage error. */
export function integer(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < min || number > max) {
      throw usage(`${name} must be an integer from ${min} to ${max}`);
    }
    return number;
  };
}

/** An option parser for a `redis://` or `rediss://` URL; the refusal never echoes the value. */
export function redisUrl(name: string): (value: string) => string {
  return (value) => {
    let protocol: string | undefined;
    try {
      protocol = new URL(value).protocol;
    } catch {
      protocol = undefined;
    }
    if (protocol !== 'redis:' && protocol !== 'rediss:') {
      throw usage(`${name} must be a redis:// or rediss:// URL (such as redis://127.0.0.1:6379)`);
    }
    return value;
  };
}
