// Service processes for the benchmarks: an app's `dist/main.js` (or any script) as a child process,
// resolved once it printed its port.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Child {
  child: ChildProcess;
  port: number;
  /** The last 16 KB of its stdout. */
  tail(): string;
}

/**
 * Starts `node args...` in `cwd` with `env` over this process's environment, and resolves once its
 * stdout shows `"port":N` (the apps' pino start line; `console.log(JSON.stringify({ port }))` in a
 * bare server). Keeps only a tail of the output, so a long run's logs do not pile up.
 */
export function startChild(cwd: string, args: string[], env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let started = false;
    child.stdout!.on('data', (d) => {
      out = (out + d).slice(-16_384);
      if (started) return;
      const m = /"port":(\d+)/.exec(out);
      if (m) {
        started = true;
        resolve({ child, port: Number(m[1]), tail: () => out });
      }
    });
    child.once('exit', (code) => {
      if (!started) reject(new Error(`child exited with ${code}: ${out}`));
    });
  });
}

/** Peak resident memory of a process (VmHWM), MB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** SIGTERM, and wait for the exit. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
