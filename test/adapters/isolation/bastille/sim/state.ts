/**
 * The simulator's world: one JSON file named by $HOLONET_BSD_SIM_STATE,
 * read and written under a mkdir lock so concurrent tool invocations (a
 * background jexec and an rctl -u) do not lose each other's updates.
 * Jail directories are real directories under the Bastille prefix; running
 * jails, mounts, interfaces, ZFS datasets, rctl rules, racct and jail
 * processes live in the JSON.
 *
 * The kernel's part is `reap`, run before every tool looks at the state:
 * jail(8) (usr.sbin/jail/jail.8, `persist`) — "a command is run as part of
 * jail creation, and then the jail is destroyed as its last process exits";
 * jail.c `create_jail` sets persist only while exec.start runs and clears it
 * afterwards unless the configuration has `persist`. A jail without persist
 * whose processes are all gone is removed here, and nothing of its stop
 * sequence runs: its mounts and its epair stay in the state.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SimProc {
  pid: number;
  /** /proc/<pid>/stat starttime, so a reused pid is not taken for a jail process */
  start: string;
}

export interface SimJail {
  jid: number;
  procs: SimProc[];
  /** the jail's persist parameter (jail.conf `persist;`) */
  persist: boolean;
}

export interface SimInterface {
  /** bytes received / sent by the interface (netstat's received-bytes / sent-bytes) */
  rx: number;
  tx: number;
  description?: string;
  index: number;
}

/** One mounted file system, as mount -p prints it. */
export interface SimMount {
  from: string;
  on: string;
  type: string;
  opts: string;
}

/** A prison_racct (kern_rctl.c): kept by jail name while a jail or a rule holds it. */
export interface SimRacct {
  /** seconds, never decreasing while the racct lives */
  cputime: number;
  /** cpu seconds of processes that exited */
  base: number;
  /** last cpu ticks seen per process (`pid:start`) */
  seen: Record<string, number>;
}

/** What the simulated host's bastille.conf says (install.ts writes the file from it). */
export interface SimConfig {
  zfs: { pool: string; prefix: string } | null;
  vnetType: 'if_bridge' | 'netgraph';
  /** the host's default route (`netstat -4rn`), which create.sh gives VNET jails without -g */
  hostGateway: string;
}

export interface SimState {
  prefix: string;
  confPath: string;
  config: SimConfig;
  nextJid: number;
  nextIfIndex: number;
  interfaces: Record<string, SimInterface>;
  running: Record<string, SimJail>;
  mounts: SimMount[];
  datasets: string[];
  rctl: string[];
  racct: Record<string, SimRacct>;
  /** every rc daemon the simulator started, for the test's cleanup */
  daemons: SimProc[];
  /** test-injected faults: jails whose `jail -c` fails, jails whose destroy leaves the directory (busy dataset) */
  faults: { startFails: string[]; destroyLeaves: string[] };
  /** every tool invocation, argv as given (for tests that check what was called); kept in `<state>.calls`, one JSON array a line */
  calls: string[][];
}

export const STATE_ENV = 'HOLONET_BSD_SIM_STATE';

export function statePath(): string {
  const p = process.env[STATE_ENV];
  if (p === undefined || p === '') {
    if (process.env.TAP === '1') {
      // tap runs every .js file of a directory it is given: these are simulated tools, not tests.
      process.stdout.write('1..0 # a simulated FreeBSD tool, not a test file\n');
      process.exit(0);
    }
    process.stderr.write(`simulator: ${STATE_ENV} is not set\n`);
    process.exit(70);
  }
  return p;
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

let held: { file: string; lock: string; s: SimState | undefined } | undefined;

function save(file: string, s: SimState): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(s));
  renameSync(`${file}.tmp`, file);
}

// A tool that exits inside withState (usage, error_exit) still saves what it changed and releases the lock.
process.on('exit', () => {
  if (held === undefined) return;
  if (held.s !== undefined) save(held.file, held.s);
  rmdirSync(held.lock);
  held = undefined;
});

/** Run fn on the state under the lock, after the kernel's reaping (unless told not to); fn's changes are saved. */
export function withState<T>(fn: (s: SimState) => T, kernel = true): T {
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
  held = { file, lock, s: undefined };
  const s = JSON.parse(readFileSync(file, 'utf8')) as SimState;
  held.s = s;
  if (kernel) reap(s);
  const out = fn(s);
  save(file, s);
  rmdirSync(lock);
  held = undefined;
  return out;
}

export function jailsDir(s: SimState): string {
  return join(s.prefix, 'jails');
}

export function jailRoot(s: SimState, jail: string): string {
  return join(jailsDir(s), jail, 'root');
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

export function procInfo(pid: number): { state: string; ppid: number; ticks: number; rssPages: number; vsize: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '?', ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]), rssPages: Number(rest[21]), vsize: Number(rest[20]) };
  } catch {
    return undefined;
  }
}

export function recordProc(pid: number): SimProc | undefined {
  const start = procStart(pid);
  return start === undefined ? undefined : { pid, start };
}

/** jexec's bookkeeping half runs as a child of the shell it records: the simulator's own, not the jail's. */
function isJexecPrep(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('bin-jexec-prep.js');
  } catch {
    return false;
  }
}

/** One read of /proc: pid → state, parent and counters. */
export function procTable(): Map<number, NonNullable<ReturnType<typeof procInfo>>> {
  const table = new Map<number, NonNullable<ReturnType<typeof procInfo>>>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const info = procInfo(Number(e));
    if (info !== undefined) table.set(Number(e), info);
  }
  return table;
}

/** Live processes among `roots` and all their descendants (zombies are gone already). */
export function livePids(roots: readonly SimProc[], table = procTable()): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, info] of table) children.set(info.ppid, [...(children.get(info.ppid) ?? []), pid]);
  const out = new Set<number>();
  const walk = (pid: number): void => {
    const info = table.get(pid);
    if (out.has(pid) || info === undefined || info.state === 'Z' || isJexecPrep(pid)) return;
    out.add(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  roots.filter((p) => procStart(p.pid) === p.start).forEach((p) => walk(p.pid));
  return [...out].sort((a, b) => a - b);
}

export function jailPids(j: SimJail, table?: ReturnType<typeof procTable>): number[] {
  return livePids(j.procs, table);
}

export function findRunning(s: SimState, target: string): [string, SimJail] | undefined {
  for (const [name, j] of Object.entries(s.running)) {
    if (name === target || String(j.jid) === target) return [name, j];
  }
  return undefined;
}

/** kern_rctl.c: a prison_racct lives while its jail runs or a rule names it; otherwise it is freed. */
export function freeRacctIfUnused(s: SimState, jail: string): void {
  if (s.running[jail] === undefined && !s.rctl.some((rule) => rule.split(':')[1] === jail)) delete s.racct[jail];
}

/** The jail is gone: its processes' cpu stays in the racct (cputime is not reclaimable), which lives on if rules hold it. */
export function releaseRacct(s: SimState, jail: string): void {
  const r = s.racct[jail];
  if (r === undefined) return;
  r.base = r.cputime;
  r.seen = {};
  freeRacctIfUnused(s, jail);
}

/** The kernel removes a jail without persist once its last process is gone; its stop sequence does not run. */
export function reap(s: SimState): void {
  const candidates = Object.entries(s.running).filter(([, j]) => !j.persist);
  if (candidates.length === 0) return;
  const table = procTable();
  for (const [name, j] of candidates) {
    if (jailPids(j, table).length > 0) continue;
    delete s.running[name];
    releaseRacct(s, name);
  }
}

export function fail(msg: string, code = 1): never {
  process.stderr.write(msg.endsWith('\n') ? msg : `${msg}\n`);
  process.exit(code);
}

export function logCall(tool: string, argv: string[]): void {
  process.env.SIM_TOOL = tool;
  // O_APPEND writes of one short line do not interleave: no lock needed
  appendFileSync(`${statePath()}.calls`, `${JSON.stringify([tool, ...argv])}\n`);
}
