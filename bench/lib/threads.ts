/**
 * CPU time per thread of a live process, from /proc/<pid>/task/<tid>/stat:
 * where a server's CPU goes between its main thread (tid == pid, the event
 * loop) and the others (SQLite's writer worker, V8's GC and compiler
 * helpers, libuv's pool).
 *
 * Node 20 leaves every thread named `node`, so the writer thread cannot be
 * told apart by name; `split` reports it as the busiest other thread when no
 * thread carries a name of its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { clockTicks } from './proc.js';

export interface ThreadTimes {
  readonly pid: number;
  /** tid -> thread name (comm) and CPU seconds (user + system) so far. */
  readonly threads: ReadonlyMap<number, { readonly name: string; readonly seconds: number }>;
}

/** Every thread's CPU seconds so far, or null off Linux or when the process is gone. */
export function threadTimes(pid: number): ThreadTimes | null {
  const threads = new Map<number, { name: string; seconds: number }>();
  try {
    for (const entry of readdirSync(`/proc/${pid}/task`)) {
      const tid = Number(entry);
      try {
        const text = readFileSync(`/proc/${pid}/task/${entry}/stat`, 'utf8');
        const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
        const fields = text.slice(text.lastIndexOf(')') + 2).trim().split(' ');
        // As for the process: utime and stime are fields 14 and 15 of stat(5), 11 and 12 after the name.
        threads.set(tid, { name, seconds: (Number(fields[11]) + Number(fields[12])) / clockTicks });
      } catch {
        // the thread ended between readdir and read
      }
    }
  } catch {
    return null;
  }
  return { pid, threads };
}

export interface ThreadSplit {
  /** CPU seconds of the main thread (tid == pid) between the two samples. */
  readonly mainSeconds: number;
  /** CPU seconds of every other thread, those that started or ended in between included. */
  readonly otherSeconds: number;
  /** The other threads that used CPU, busiest first. */
  readonly others: readonly { readonly tid: number; readonly name: string; readonly seconds: number }[];
  /** Whether the threads carry names of their own (they do not on Node 20: all are `node`). */
  readonly named: boolean;
}

/**
 * The CPU used between two samples, split into the main thread and the others.
 * A thread that ended before `after` loses what it used since `before`, which
 * only undercounts short-lived threads; the process total (cpuSeconds) has it.
 */
export function split(before: ThreadTimes, after: ThreadTimes): ThreadSplit {
  let mainSeconds = 0;
  let otherSeconds = 0;
  const others: { tid: number; name: string; seconds: number }[] = [];
  const names = new Set<string>();
  for (const [tid, now] of after.threads) {
    const used = Math.max(0, now.seconds - (before.threads.get(tid)?.seconds ?? 0));
    names.add(now.name);
    if (tid === after.pid) mainSeconds = used;
    else {
      otherSeconds += used;
      if (used > 0) others.push({ tid, name: now.name, seconds: used });
    }
  }
  others.sort((a, b) => b.seconds - a.seconds);
  return { mainSeconds, otherSeconds, others, named: names.size > 1 };
}
