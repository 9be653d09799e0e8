// CPU time a server process (and its live children: nginx's worker) has used, from /proc. On a
// machine shared with other work a contestant's req/s depends on what else runs; the CPU it spends
// per request does much less, so the benchmarks print both.
import { readFileSync } from 'node:fs';

const ticksPerSecond = 100; // USER_HZ: 100 on every Linux Node supports

function ownSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command (which may hold spaces) in parentheses: utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter((part) => part.length > 0)
      .map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds used so far by `pid` and its children still running; NaN where /proc cannot say. */
export function cpuSecondsOf(pid: number): number {
  try {
    return [pid, ...childrenOf(pid)].reduce((sum, one) => sum + ownSeconds(one), 0);
  } catch {
    return Number.NaN;
  }
}
