/**
 * @module bench/cpu-time
 * Where the benchmark's CPU goes: CPU time of each process taking part (the load generator, the
 * data center and its threads, each box), read from /proc, so the figures can be divided by the
 * transactions done in the same interval. Linux only; elsewhere the readers return null.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticks: number | undefined;

/** The kernel's clock ticks per second (USER_HZ), the unit of /proc CPU times. */
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** utime + stime of a process (or of one thread, `/proc/PID/task/TID`), in ms. */
function cpuMsAt(statPath: string): number | null {
  try {
    const text = readFileSync(statPath, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
  } catch {
    return null;
  }
}

export const processCpuMs = (pid: number): number | null => cpuMsAt(`/proc/${pid}/stat`);

/** Children of a process with their command lines (a box's name is the last word but one). */
export function childProcesses(pid: number): { pid: number; args: string[] }[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ pid: Number(m[1]), args: (m[2] as string).split(' ') }));
  } catch {
    return [];
  }
}

/** CPU ms of each thread of a process, by thread id. */
export function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const ms = cpuMsAt(`/proc/${pid}/task/${tid}/stat`);
      if (ms !== null) out.set(tid, ms);
    }
  } catch {
    // not Linux, or gone
  }
  return out;
}

/** A named set of processes whose CPU time is read at the start and the end of a phase. */
export class CpuMeter {
  private start = new Map<string, number>();
  private mainThreadStart = 0;

  constructor(
    private readonly processes: { name: string; pid: number }[],
    /** The data center's main thread (its event loop) is reported on its own, when given. */
    private readonly dataCenterPid?: number,
  ) {}

  begin(): void {
    this.start = this.read();
    this.mainThreadStart = this.mainThreadMs() ?? 0;
  }

  /** CPU ms per transaction of each process over the phase. */
  end(transactions: number): Record<string, number> | null {
    const now = this.read();
    if (now.size === 0 || transactions === 0) return null;
    const out: Record<string, number> = {};
    for (const [name, ms] of now)
      out[name] = round3((ms - (this.start.get(name) ?? 0)) / transactions);
    const main = this.mainThreadMs();
    if (main !== undefined)
      out['dataCenterEventLoop'] = round3((main - this.mainThreadStart) / transactions);
    return out;
  }

  private mainThreadMs(): number | undefined {
    const pid = this.dataCenterPid;
    return pid === undefined ? undefined : threadCpuMs(pid).get(String(pid));
  }

  private read(): Map<string, number> {
    const out = new Map<string, number>();
    for (const p of this.processes) {
      const ms = processCpuMs(p.pid);
      if (ms !== null) out.set(p.name, ms);
    }
    return out;
  }
}

const round3 = (x: number) => Number(x.toFixed(3));
