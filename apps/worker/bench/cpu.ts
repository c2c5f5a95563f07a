// CPU time of processes and of the machine, from /proc (Linux), for the capacity bench's per-step
// figures: seconds of CPU a process used between two samples, as a share of one core.
import { readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ: 100 on every Linux this runs on

/** User + system CPU seconds a process has used so far; undefined once it is gone. */
export function processCpuS(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU seconds of the whole machine (all cores) so far. */
export function machineCpuS(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  return { busy: (total - idle) / TICKS_PER_S, total: total / TICKS_PER_S };
}

/**
 * CPU of a set of processes that changes over time (PostgreSQL backends come and go): `sample(pids)`
 * returns the CPU seconds they used since the previous sample, counting a new pid from its start.
 * (A backend that exits between two samples loses its last interval: the pools here keep theirs.)
 */
export function createCpuMeter() {
  let last = new Map<number, number>();
  return (pids: readonly number[]): number => {
    const now = new Map<number, number>();
    let used = 0;
    for (const pid of pids) {
      const s = processCpuS(pid);
      if (s === undefined) continue;
      now.set(pid, s);
      used += s - (last.get(pid) ?? 0);
    }
    last = now;
    return used;
  };
}
