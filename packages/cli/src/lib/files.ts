import { readFile } from 'node:fs/promises';

/** Why a file named by a flag could not be read, in words (a raw ENOENT names no flag). */
function reason(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    case 'EISDIR':
      return 'is a directory, not a file';
    default:
      return `cannot be read (${error.code ?? error.message})`;
  }
}

/** The content of the file a flag names, or one error naming the flag, the file and why. */
export async function readFlagFile(flag: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new Error(`${flag} ${file} ${reason(error as NodeJS.ErrnoException)}`);
  }
}
