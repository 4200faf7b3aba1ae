/**
 * rctl(8) and the kernel behind it, as read in FreeBSD 14 (sobomax/freebsd14_vendor:
 * usr.bin/rctl/rctl.c, sys/kern/kern_rctl.c, sys/kern/kern_racct.c):
 *
 * - rctl.c: getopt "ahlnru", "at most one of -a, -l, -r, or -u may be
 *   specified", subject aliases (`j` → `jail`), `expand_number` amounts, exit =
 *   number of failed rules, warn("failed to … rule '%s'") with strerror;
 * - kern_rctl.c `rctl_rule_add`: `deny` only on deniable resources
 *   (kern_racct.c `racct_types`) — except memoryuse (RSS) and pcpu, accepted
 *   and "enforced in a different way" — else EOPNOTSUPP; a new deny rule
 *   replaces one that differs only by amount; `rctl_rule_remove` returns ESRCH
 *   when nothing matched;
 * - a jail subject is `prison_racct_find(name)`, which creates the racct when
 *   absent: `rctl -u jail:absent` prints every resource as 0 and exits 0. The
 *   racct lives while its jail runs or a rule names it (state.ts releaseRacct),
 *   so cputime accumulates over restarts while rules hold it. `rctl -u` prints
 *   every resource in kernel order (`rctl_racct_to_sbuf` with sloppy=1).
 *
 * No limit is enforced here: as on FreeBSD, `memoryuse:deny` does not refuse
 * an allocation (vm_swapout.c only deactivates pages of a jail over it).
 * `swapuse` (swap reservations of anonymous memory) is reported as 0: the
 * simulator does not model reservations.
 */
import { getopt } from './getopt.js';
import { fail, freeRacctIfUnused, jailPids, logCall, procInfo, recordProc, withState, type SimState } from './state.js';

/** kern_rctl.c resourcenames, in RACCT order, with kern_racct.c racct_types flags (D = deniable, S = sloppy, Y = decaying). */
const RESOURCES: readonly [string, string][] = [
  ['cputime', ''],
  ['datasize', 'D'],
  ['stacksize', 'D'],
  ['coredumpsize', 'D'],
  ['memoryuse', ''],
  ['memorylocked', 'D'],
  ['maxproc', 'D'],
  ['openfiles', 'D'],
  ['vmemoryuse', 'D'],
  ['pseudoterminals', 'DS'],
  ['swapuse', 'DS'],
  ['nthr', 'D'],
  ['msgqqueued', 'DS'],
  ['msgqsize', 'DS'],
  ['nmsgq', 'DS'],
  ['nsem', 'DS'],
  ['nsemop', 'D'],
  ['nshm', 'DS'],
  ['shmsize', 'DS'],
  ['wallclock', ''],
  ['pcpu', 'DY'],
  ['readbps', 'Y'],
  ['writebps', 'Y'],
  ['readiops', 'Y'],
  ['writeiops', 'Y'],
];
const FLAGS = new Map(RESOURCES);
const ACTIONS = /^(deny|log|devctl|throttle|sig(hup|int|quit|ill|trap|abrt|emt|fpe|kill|bus|segv|sys|pipe|alrm|term|urg|stop|tstp|chld|ttin|ttou|io|xcpu|xfsz|vtalrm|prof|winch|info|usr1|usr2|thr))$/;

function expandNumber(s: string): number | undefined {
  const m = /^(\d+)([kKmMgGtTpP]?)$/.exec(s);
  if (m === null) return undefined;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[(m[2] as string).toLowerCase()] ?? 1;
  return Number(m[1]) * mult;
}

/** rctl.c expand_rule(): subject aliases, amount expansion; undefined after printing the same warnx as rctl. */
function expandRule(rule: string): string | undefined {
  const parts = rule.split(':');
  if (parts.length < 2) {
    process.stderr.write(`rctl: malformed rule '${rule}': missing subject\n`);
    return undefined;
  }
  const alias: Record<string, string> = { u: 'user', g: 'group', p: 'process', l: 'loginclass', c: 'loginclass', class: 'loginclass', j: 'jail' };
  parts[0] = alias[(parts[0] as string).toLowerCase()] ?? (parts[0] as string);
  if (parts.length >= 4) {
    const [action, amountPer = ''] = (parts[3] as string).split('=');
    const [amount = '', per] = amountPer.split('/');
    if (amount !== '') {
      const n = expandNumber(amount);
      if (n === undefined) {
        process.stderr.write(`rctl: malformed rule '${rule}': invalid numeric value '${amount}'\n`);
        return undefined;
      }
      parts[3] = `${action}=${n}${per === undefined ? '' : `/${per}`}`;
    }
  }
  return parts.join(':');
}

/** rctl_string_to_rule + rctl_rule_fully_specified + rctl_rule_add: undefined when accepted, else the errno text. */
function addError(rule: string): string | undefined {
  const p = rule.split(':');
  if (p.length !== 4 || !['process', 'user', 'loginclass', 'jail'].includes(p[0] as string) || p[1] === '') return 'Invalid argument';
  const flags = FLAGS.get(p[2] as string);
  const m = /^([a-z0-9]+)=(\d+)(\/(process|user|loginclass|jail))?$/.exec(p[3] as string);
  if (flags === undefined || m === null || !ACTIONS.test(m[1] as string)) return 'Invalid argument';
  const [resource, action, per] = [p[2] as string, m[1] as string, m[4]];
  if (action === 'deny' && !flags.includes('D') && resource !== 'memoryuse') return 'Operation not supported';
  if (action === 'throttle' && (!flags.includes('Y') || resource === 'pcpu')) return 'Operation not supported';
  if (per === 'process' && flags.includes('S')) return 'Operation not supported';
  return undefined;
}

function matches(filter: string, rule: string): boolean {
  const f = filter.split(':');
  const r = rule.split(':');
  return f.every((x, i) => x === '' || (i === 3 ? (r[3] as string).startsWith(x) : r[i] === x));
}

/** The jail's racct now: cpu of live processes on top of what exited ones used, never decreasing. */
function jailRacct(s: SimState, jail: string): Record<string, number> {
  const r = s.racct[jail];
  const j = s.running[jail];
  if (r === undefined) return {};
  if (j === undefined) return { cputime: r.cputime };
  const now: Record<string, number> = {};
  let rss = 0;
  let vsize = 0;
  for (const pid of jailPids(j)) {
    const p = procInfo(pid);
    const id = recordProc(pid);
    if (p === undefined || id === undefined) continue;
    now[`${pid}:${id.start}`] = p.ticks;
    rss += p.rssPages * 4096;
    vsize += p.vsize;
  }
  for (const [k, ticks] of Object.entries(r.seen)) if (now[k] === undefined) r.base += ticks / 100;
  r.seen = now;
  r.cputime = Math.max(r.cputime, Math.floor(r.base + Object.values(now).reduce((a, b) => a + b, 0) / 100));
  const n = Object.keys(now).length;
  return { cputime: r.cputime, memoryuse: rss, maxproc: n, nthr: n, vmemoryuse: vsize };
}

export function runRctl(argv: string[]): void {
  logCall('rctl', argv);
  const usage = (): never => fail('usage: rctl [ -h ] [-a rule | -l filter | -r filter | -u filter | filter]');
  const { opts, rest } = getopt(argv, 'ahlnru', usage);
  const f = new Set(opts.map(([c]) => c));
  const modes = ['a', 'l', 'r', 'u'].filter((m) => f.has(m));
  if (modes.length > 1) fail('rctl: at most one of -a, -l, -r, or -u may be specified');
  if (rest.length === 0 && modes.length > 0) usage();
  let errors = 0;
  withState((s) => {
    if (rest.length === 0) for (const r of s.rctl) process.stdout.write(`${r}\n`);
    for (const raw of rest) {
      const rule = expandRule(raw);
      if (rule === undefined) {
        errors++;
        continue;
      }
      if (f.has('a')) {
        const err = addError(rule);
        if (err !== undefined) {
          process.stderr.write(`rctl: failed to add rule '${raw}': ${err}\n`);
          errors++;
          continue;
        }
        const sameBut = (r: string): boolean => rule.includes(':deny=') && r.split('=')[0] === rule.split('=')[0];
        s.rctl = [...s.rctl.filter((r) => r !== rule && !sameBut(r)), rule];
        s.racct[rule.split(':')[1] as string] ??= { cputime: 0, base: 0, seen: {} };
      } else if (f.has('r')) {
        const before = s.rctl.length;
        const removed = s.rctl.filter((r) => matches(rule, r));
        s.rctl = s.rctl.filter((r) => !matches(rule, r));
        for (const r of removed) freeRacctIfUnused(s, r.split(':')[1] as string);
        if (s.rctl.length === before) {
          process.stderr.write(`rctl: failed to remove rule '${raw}': No such process\n`);
          errors++;
        }
      } else if (f.has('u')) {
        const [subject, id] = rule.split(':');
        const values = subject === 'jail' ? jailRacct(s, id ?? '') : {};
        for (const [r] of RESOURCES) process.stdout.write(`${r}=${values[r] ?? 0}\n`);
      } else {
        for (const r of s.rctl) if (matches(rule, r)) process.stdout.write(`${r}\n`);
      }
    }
  });
  process.exit(errors);
}
