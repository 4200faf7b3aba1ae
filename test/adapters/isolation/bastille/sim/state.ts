/**
 * The simulator's world: one JSON file named by $HOLONET_BSD_SIM_STATE,
 * read and written under a mkdir lock so concurrent tool invocations (a
 * background jexec and an rctl -u) do not lose each other's updates.
 * Jail directories are real directories under the Bastille prefix; running
 * jails, interfaces, rctl rules and jail processes live in the JSON.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export interface SimProc {
  pid: number;
  /** /proc/<pid>/stat starttime, so a reused pid is not taken for a jail process */
  start: string;
}

export interface SimJail {
  jid: number;
  procs: SimProc[];
  /** highest cputime seen (seconds), racct's cputime never goes back while the jail lives */
  cputime: number;
}

export interface SimInterface {
  rx: number;
  tx: number;
  description?: string;
  index: number;
}

export interface SimState {
  prefix: string;
  nextJid: number;
  nextIfIndex: number;
  interfaces: Record<string, SimInterface>;
  running: Record<string, SimJail>;
  rctl: string[];
  /** test-injected faults: jails whose `jail -c` fails (Bastille start then exits 0 anyway) */
  faults: { startFails: string[]; destroyLeaves: string[] };
  /** every tool invocation, argv as given (for tests that check what was called) */
  calls: string[][];
}

export const STATE_ENV = 'HOLONET_BSD_SIM_STATE';

export function statePath(): string {
  const p = process.env[STATE_ENV];
  if (p === undefined || p === '') {
    process.stderr.write(`simulator: ${STATE_ENV} is not set\n`);
    process.exit(70);
  }
  return p;
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Run fn on the state under the lock; fn's changes are saved. */
export function withState<T>(fn: (s: SimState) => T): T {
  const file = statePath();
  const lock = `${file}.lock`;
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (i > 500) {
        // a crashed holder: steal a lock older than 10 s
        try {
          if (Date.now() - statSync(lock).mtimeMs > 10_000) rmdirSync(lock);
        } catch {
          // raced
        }
      }
      sleep(10);
    }
  }
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as SimState;
    const out = fn(s);
    writeFileSync(`${file}.tmp`, JSON.stringify(s));
    renameSync(`${file}.tmp`, file);
    return out;
  } finally {
    rmdirSync(lock);
  }
}

export function readState(): SimState {
  return JSON.parse(readFileSync(statePath(), 'utf8')) as SimState;
}

export function jailsDir(s: SimState): string {
  return join(s.prefix, 'jails');
}

/** `bastille list jails`: directories under jails/ that hold a jail.conf. */
export function listJails(s: SimState): string[] {
  const dir = jailsDir(s);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => existsSync(join(dir, n, 'jail.conf')))
    .sort();
}

function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

export function procInfo(pid: number): { state: string; ppid: number; ticks: number; rssPages: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '?', ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]), rssPages: Number(rest[21]) };
  } catch {
    return undefined;
  }
}

export function recordProc(pid: number): SimProc | undefined {
  const start = procStart(pid);
  return start === undefined ? undefined : { pid, start };
}

/** The jail's live processes: recorded pids that are still the same process, and all their descendants. */
export function jailPids(j: SimJail): number[] {
  const roots = j.procs.filter((p) => procStart(p.pid) === p.start).map((p) => p.pid);
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const info = procInfo(Number(e));
    if (info === undefined) continue;
    const list = children.get(info.ppid) ?? [];
    list.push(Number(e));
    children.set(info.ppid, list);
  }
  const out = new Set<number>();
  const walk = (pid: number): void => {
    if (out.has(pid) || procInfo(pid) === undefined || procInfo(pid)?.state === 'Z') return;
    out.add(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  roots.forEach(walk);
  return [...out].sort((a, b) => a - b);
}

export function findRunning(s: SimState, target: string): [string, SimJail] | undefined {
  for (const [name, j] of Object.entries(s.running)) {
    if (name === target || String(j.jid) === target) return [name, j];
  }
  return undefined;
}

export function fail(msg: string, code = 1): never {
  process.stderr.write(msg.endsWith('\n') ? msg : `${msg}\n`);
  process.exit(code);
}

export function logCall(tool: string, argv: string[]): void {
  withState((s) => {
    s.calls.push([tool, ...argv]);
  });
}
