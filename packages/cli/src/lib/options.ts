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
