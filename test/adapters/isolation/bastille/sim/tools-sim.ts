/**
 * rctl(8), jls(8), netstat(1), pkill/pgrep(1), ps(1) and the bookkeeping half
 * of jexec(8), reproducing their argument parsing (getopt letters, usage
 * lines, exit codes) and output formats as read from the FreeBSD sources
 * (usr.bin/rctl/rctl.c, usr.sbin/jls/jls.c, usr.sbin/jexec/jexec.c) and
 * manual pages; see docs/adapters/bastille.md for what was verified how.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { fail, findRunning, jailPids, jailsDir, logCall, procInfo, readState, recordProc, withState, type SimState } from './state.js';

/** POSIX getopt over `optstring` ("u:" = takes a value); returns options in order and the operands. */
function getopt(argv: string[], optstring: string, usage: () => never): { opts: [string, string][]; rest: string[] } {
  const opts: [string, string][] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    for (let k = 1; k < a.length; k++) {
      const c = a[k] as string;
      const at = optstring.indexOf(c);
      if (at < 0 || c === ':') {
        process.stderr.write(`${process.env.SIM_TOOL ?? 'tool'}: illegal option -- ${c}\n`);
        usage();
      }
      if (optstring[at + 1] === ':') {
        const v = k + 1 < a.length ? a.slice(k + 1) : argv[++i];
        if (v === undefined) {
          process.stderr.write(`option requires an argument -- ${c}\n`);
          usage();
        }
        opts.push([c, v]);
        break;
      }
      opts.push([c, '']);
    }
    i++;
  }
  return { opts, rest: argv.slice(i) };
}

// ------------------------------------------------------------------ rctl

const RESOURCES = ['cputime', 'datasize', 'stacksize', 'coredumpsize', 'memoryuse', 'memorylocked', 'maxproc', 'openfiles', 'vmemoryuse', 'pseudoterminals', 'swapuse', 'nthr', 'msgqqueued', 'msgqsize', 'nmsgq', 'nsem', 'nsemop', 'nshm', 'shmsize', 'wallclock', 'pcpu', 'readbps', 'writebps', 'readiops', 'writeiops'];
const ACTIONS = /^(deny|log|devctl|throttle|sig[a-z0-9]+)$/;

function expandNumber(s: string): number | undefined {
  const m = /^(\d+)([kKmMgGtTpP]?)$/.exec(s);
  if (m === null) return undefined;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[(m[2] as string).toLowerCase()] ?? 1;
  return Number(m[1]) * mult;
}

/** expand_rule(): subject aliases, amount expansion; undefined after printing the same warnx as rctl. */
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

/** What the kernel accepts in rctl_add_rule (EINVAL otherwise). */
function kernelRuleOk(rule: string): boolean {
  const p = rule.split(':');
  if (p.length !== 4 || !['process', 'user', 'loginclass', 'jail'].includes(p[0] as string) || p[1] === '') return false;
  if (!RESOURCES.includes(p[2] as string)) return false;
  const m = /^([a-z0-9]+)=(\d+)(\/(process|user|loginclass|jail))?$/.exec(p[3] as string);
  return m !== null && ACTIONS.test(m[1] as string);
}

function matches(filter: string, rule: string): boolean {
  const f = filter.split(':');
  const r = rule.split(':');
  return f.every((x, i) => x === '' || (i === 3 ? (r[3] as string).startsWith(x) : r[i] === x));
}

export function runRctl(argv: string[]): void {
  logCall('rctl', argv);
  process.env.SIM_TOOL = 'rctl';
  const usage = (): never => fail('usage: rctl [ -h ] [-a rule | -l filter | -r filter | -u filter | filter]');
  const { opts, rest } = getopt(argv, 'ahlnru', usage);
  const f = new Set(opts.map(([c]) => c));
  const modes = ['a', 'l', 'r', 'u'].filter((m) => f.has(m));
  if (modes.length > 1) fail('rctl: at most one of -a, -l, -r, or -u may be specified');
  if (rest.length === 0) {
    if (modes.length > 0) usage();
    for (const r of readState().rctl) process.stdout.write(`${r}\n`);
    process.exit(0);
  }
  let errors = 0;
  withState((s) => {
    for (const raw of rest) {
      const rule = expandRule(raw);
      if (rule === undefined) {
        errors++;
        continue;
      }
      if (f.has('a')) {
        if (!kernelRuleOk(rule)) {
          process.stderr.write(`rctl: failed to add rule '${raw}': Invalid argument\n`);
          errors++;
        } else if (!s.rctl.includes(rule)) s.rctl.push(rule);
      } else if (f.has('r')) {
        const before = s.rctl.length;
        s.rctl = s.rctl.filter((r) => !matches(rule, r));
        if (s.rctl.length === before) {
          process.stderr.write(`rctl: failed to remove rule '${raw}': No such process\n`);
          errors++;
        }
      } else if (f.has('u')) {
        const [subject, id] = rule.split(':');
        const j = subject === 'jail' ? s.running[id ?? ''] : undefined;
        if (j === undefined) {
          process.stderr.write(`rctl: failed to show resource consumption for '${raw}': No such process\n`);
          errors++;
          continue;
        }
        const pids = jailPids(j);
        let ticks = 0;
        let rss = 0;
        for (const pid of pids) {
          const p = procInfo(pid);
          ticks += p?.ticks ?? 0;
          rss += (p?.rssPages ?? 0) * 4096;
        }
        j.cputime = Math.max(j.cputime, Math.floor(ticks / 100));
        const values: Record<string, number> = { cputime: j.cputime, memoryuse: rss, maxproc: pids.length, nthr: pids.length, vmemoryuse: rss, wallclock: 0 };
        for (const r of RESOURCES) process.stdout.write(`${r}=${values[r] ?? 0}\n`);
      } else {
        for (const r of s.rctl) if (matches(rule, r)) process.stdout.write(`${r}\n`);
      }
    }
  });
  process.exit(errors);
}

// ------------------------------------------------------------------ jls

const JLS_PARAMS = ['jid', 'name', 'path', 'host.hostname', 'hostname', 'ip4.addr', 'ip6.addr', 'vnet', 'dying', 'parent', 'children.max', 'children.cur', 'securelevel', 'devfs_ruleset', 'enforce_statfs', 'osrelease', 'osreldate', 'persist'];

export function runJls(argv: string[]): void {
  logCall('jls', argv);
  process.env.SIM_TOOL = 'jls';
  // libxo options are taken out of argv before getopt (xo_parse_args)
  let json = false;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--libxo') {
      json = (argv[++i] ?? '').split(',').includes('json');
    } else if (a.startsWith('--libxo=') || a.startsWith('--libxo:')) {
      json = a.slice(8).split(',').includes('json');
    } else args.push(a);
  }
  const usage = (): never => fail('usage: jls [-dhNnqsv] [-j jail] [param ...]');
  const { opts, rest } = getopt(args, 'dj:hNnqsv', usage);
  for (const p of rest) if (!JLS_PARAMS.includes(p)) fail(`jls: unknown parameter: ${p}`);
  const s = readState();
  const jFilter = opts.find(([c]) => c === 'j')?.[1];
  let rows = Object.entries(s.running).sort((a, b) => a[1].jid - b[1].jid);
  if (jFilter !== undefined) {
    rows = rows.filter(([n, j]) => n === jFilter || String(j.jid) === jFilter);
    if (rows.length === 0) fail(`jls: jail "${jFilter}" not found`);
  }
  const params = rest.length > 0 ? rest : ['jid', 'ipv4', 'hostname', 'path'];
  const value = (name: string, jid: number, p: string): string | number => {
    const path = join(jailsDir(s), name, 'root');
    switch (p) {
      case 'jid':
        return jid;
      case 'name':
        return name;
      case 'path':
        return path;
      case 'host.hostname':
      case 'hostname':
        return name;
      default:
        return '';
    }
  };
  if (json) {
    const list = rows.map(([n, j]) => Object.fromEntries(params.map((p) => [p, value(n, j.jid, p)])));
    // libxo's layout, as in FreeBSD's jail tests: {"__version": "2", "jail-information": {"jail": [{"name":"j",...}]}}
    process.stdout.write(`{"__version": "2", "jail-information": {"jail": [${list.map((j) => JSON.stringify(j)).join(', ')}]}}\n`);
  } else {
    for (const [n, j] of rows) process.stdout.write(`${params.map((p) => String(value(n, j.jid, p))).join(' ')}\n`);
  }
  process.exit(0);
}

// ------------------------------------------------------------------ netstat

export function runNetstat(argv: string[]): void {
  logCall('netstat', argv);
  process.env.SIM_TOOL = 'netstat';
  let json = false;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--libxo') json = (argv[++i] ?? '').split(',').includes('json');
    else if (a.startsWith('--libxo=')) json = a.slice(8).split(',').includes('json');
    else args.push(a);
  }
  const usage = (): never =>
    fail('usage: netstat [-j jail] [-46AaCcLnRSTWx] [-f protocol_family | -p protocol]\n               [-M core] [-N system]\n       netstat [-j jail] -i | -I interface [-46abdhnW] [-f address_family]\n               [-M core] [-N system]');
  const { opts, rest } = getopt(args, '46AaBbdF:f:ghI:iLlM:mN:nP:p:Qq:RrSTsuWw:xzj:', usage);
  if (rest.length > 0) usage();
  const ifname = opts.find(([c]) => c === 'I')?.[1];
  const bytes = opts.some(([c]) => c === 'b');
  if (ifname === undefined) fail('netstat (simulator): only -I interface is simulated');
  const s = readState();
  const i = s.interfaces[ifname];
  const rows =
    i === undefined
      ? []
      : [
          {
            name: ifname,
            flags: '0x8863',
            mtu: 1500,
            network: `<Link#${i.index}>`,
            address: '58:9c:fc:10:ff:a0',
            'received-packets': Math.ceil(i.rx / 1000),
            'received-errors': 0,
            'dropped-packets': 0,
            ...(bytes ? { 'received-bytes': i.rx } : {}),
            'sent-packets': Math.ceil(i.tx / 1000),
            'send-errors': 0,
            ...(bytes ? { 'sent-bytes': i.tx } : {}),
            collisions: 0,
          },
        ];
  if (json) process.stdout.write(`${JSON.stringify({ statistics: { interface: rows } })}\n`);
  else {
    process.stdout.write('Name    Mtu Network       Address              Ipkts Ierrs Idrop     Ibytes    Opkts Oerrs     Obytes  Coll\n');
    for (const r of rows) process.stdout.write(`${r.name} ${r.mtu} ${r.network} ${r.address} ${r['received-packets']} 0 0 ${i?.rx ?? 0} ${r['sent-packets']} 0 ${i?.tx ?? 0} 0\n`);
  }
  process.exit(0);
}

// ------------------------------------------------------------------ pkill / pgrep / ps

const SIGNALS: Record<string, NodeJS.Signals> = { STOP: 'SIGSTOP', CONT: 'SIGCONT', KILL: 'SIGKILL', TERM: 'SIGTERM', HUP: 'SIGHUP', INT: 'SIGINT', '9': 'SIGKILL', '15': 'SIGTERM', '17': 'SIGSTOP', '19': 'SIGCONT' };

function jailTarget(s: SimState, target: string): number[] {
  const r = findRunning(s, target);
  return r === undefined ? [] : jailPids(r[1]);
}

export function runPkill(argv: string[], tool: 'pkill' | 'pgrep'): void {
  logCall(tool, argv);
  process.env.SIM_TOOL = tool;
  let signal: NodeJS.Signals = 'SIGTERM';
  const args = [...argv];
  if (tool === 'pkill' && args[0] !== undefined && /^-[A-Z0-9]+$/.test(args[0]) && args[0] !== '-I') {
    const name = (args.shift() as string).slice(1).replace(/^SIG/, '');
    const sig = SIGNALS[name];
    if (sig === undefined) fail(`${tool}: Invalid signal ${name}`, 2);
    signal = sig;
  }
  const usage = (): never => fail(`usage: ${tool} [-${tool === 'pkill' ? 'signal] [-I' : 'L'}Lafilnoqvx] [-F pidfile] [-G gid]\n             [-M core] [-N system]\n             [-P ppid] [-U uid] [-c class] [-g pgrp] [-j jail]\n             [-s sid] [-t tty] [-u euid] pattern ...`, 2);
  const { opts, rest } = getopt(args, 'ILSafilnoqvxd:F:G:M:N:P:U:c:g:j:s:t:u:', usage);
  const jails = opts.filter(([c]) => c === 'j').map(([, v]) => v);
  if (jails.length === 0 || rest.length > 0) fail(`${tool} (simulator): only -j jail without a pattern is simulated`, 2);
  const s = readState();
  const pids = jails.flatMap((j) => j.split(',')).flatMap((j) => jailTarget(s, j));
  for (const pid of pids) {
    if (tool === 'pgrep') process.stdout.write(`${pid}\n`);
    else {
      try {
        process.kill(pid, signal);
      } catch {
        // exited meanwhile
      }
    }
  }
  process.exit(pids.length > 0 ? 0 : 1);
}

export function runPs(argv: string[]): void {
  logCall('ps', argv);
  process.env.SIM_TOOL = 'ps';
  const usage = (): never => fail('usage: ps [--libxo] [-aCcdefHhjlmrSTuvwXxZ] [-O fmt | -o fmt]\n          [-G gid[,gid...]] [-J jid[,jid...]] [-M core] [-N system]\n          [-p pid[,pid...]] [-t tty[,tty...]] [-U user[,user...]]\n       ps [--libxo] -L');
  const { opts, rest } = getopt(argv, 'AaCcde:fG:gHhjJ:LlM:mN:O:o:p:rSTt:U:uvwXxZ', usage);
  if (rest.length > 0) usage();
  const fields = opts.filter(([c]) => c === 'o').flatMap(([, v]) => v.split(','));
  const pids = opts.filter(([c]) => c === 'p').flatMap(([, v]) => v.split(',')).map(Number);
  if (fields.join(',') !== 'pid=,state=' || pids.length === 0) fail('ps (simulator): only -o pid=,state= -p list is simulated');
  let shown = 0;
  for (const pid of pids) {
    const p = procInfo(pid);
    if (p === undefined) continue;
    const st = p.state === 't' ? 'T' : p.state;
    process.stdout.write(`${String(pid).padStart(5)} ${st}\n`);
    shown++;
  }
  process.exit(shown > 0 ? 0 : 1);
}

// ------------------------------------------------------------------ jexec

/**
 * The bookkeeping half of jexec: parse like jexec.c (getopt "lnu:U:"), find
 * the jail and the user, record the calling shell's pid as a jail process,
 * and print what the shell half needs to exec the command chrooted to the
 * jail root (so the pid that runs the command is the one recorded, as after
 * the real jexec's execvp). `pw` inside the jail is emulated here.
 */
export function runJexecPrep(argv: string[]): void {
  const shellPid = Number(argv[0]);
  const args = argv.slice(1);
  logCall('jexec', args);
  process.env.SIM_TOOL = 'jexec';
  const usage = (): never => fail('usage: jexec [-l] [-u username | -U username] jail [command ...]');
  const { opts, rest } = getopt(args, 'lnu:U:', usage);
  if (rest.length < 1) usage();
  const u = opts.filter(([c]) => c === 'u');
  const U = opts.filter(([c]) => c === 'U');
  if (u.length > 0 && U.length > 0) usage();
  const s = readState();
  const target = rest[0] as string;
  const found = findRunning(s, target);
  if (found === undefined) fail(`jexec: jail "${target}" not found`);
  const [jail] = found;
  const root = join(jailsDir(s), jail, 'root');
  const username = U[0]?.[1] ?? u[0]?.[1];
  let uid = 0;
  let gid = 0;
  let home = '/root';
  let shell = '/bin/sh';
  if (username !== undefined) {
    const passwd = readFileSync(join(root, 'etc', 'passwd'), 'utf8');
    const line = passwd.split('\n').find((l) => l.split(':')[0] === username);
    if (line === undefined) fail(`jexec: ${username}: no such user`);
    const f = line.split(':');
    uid = Number(f[2]);
    gid = Number(f[3]);
    home = f[5] ?? '/';
    shell = f[6] ?? '/bin/sh';
  }
  const cmd = rest.slice(1);
  if (cmd[0] === 'pw' || cmd[0] === '/usr/sbin/pw') {
    if (uid !== 0) fail('pw: you must be root to run this program', 77);
    process.exit(emulatePw(root, cmd.slice(1)));
  }
  if (cmd.length === 0) fail('jexec (simulator): an interactive shell is not simulated');
  withState((st) => {
    const j = st.running[jail];
    const p = recordProc(shellPid);
    if (j !== undefined && p !== undefined) j.procs.push(p);
  });
  process.stdout.write(`RUN\n${root}\n${uid}:${gid}\n${username ?? 'root'}\n${home}\n${shell}\n${args.length - cmd.length}\n`);
  process.exit(0);
}

/** pw(8) groupadd / useradd, on the jail's /etc/group and /etc/passwd; exit codes as pw: 65 = EX_DATAERR (exists), 64 = EX_USAGE. */
function emulatePw(root: string, argv: string[]): number {
  const [sub, name, ...rest] = argv;
  const opt = (f: string): string | undefined => {
    const i = rest.indexOf(f);
    return i < 0 ? undefined : rest[i + 1];
  };
  const group = join(root, 'etc', 'group');
  const passwd = join(root, 'etc', 'passwd');
  if (name === undefined || name.startsWith('-')) {
    process.stderr.write(`usage: pw ${sub ?? ''} [name|id] [switches]\n`);
    return 64;
  }
  if (sub === 'groupadd') {
    if (readFileSync(group, 'utf8').split('\n').some((l) => l.split(':')[0] === name)) {
      process.stderr.write(`pw: group name \`${name}' already exists\n`);
      return 65;
    }
    appendFileSync(group, `${name}:*:${opt('-g') ?? '1001'}:\n`);
    return 0;
  }
  if (sub === 'useradd') {
    if (readFileSync(passwd, 'utf8').split('\n').some((l) => l.split(':')[0] === name)) {
      process.stderr.write(`pw: user '${name}' already exists\n`);
      return 65;
    }
    const gname = opt('-g') ?? name;
    const gline = readFileSync(group, 'utf8').split('\n').find((l) => l.split(':')[0] === gname || l.split(':')[2] === gname);
    if (gline === undefined) {
      process.stderr.write(`pw: group \`${gname}' does not exist\n`);
      return 67;
    }
    const uid = Number(opt('-u') ?? '1001');
    const gid = Number(gline.split(':')[2]);
    const dir = opt('-d') ?? `/home/${name}`;
    appendFileSync(passwd, `${name}:*:${uid}:${gid}:${opt('-c') ?? 'User &'}:${dir}:${opt('-s') ?? '/bin/sh'}\n`);
    if (rest.includes('-m')) {
      const h = join(root, dir);
      if (!existsSync(h)) mkdirSync(h, { recursive: true, mode: 0o755 });
      chownSync(h, uid, gid);
    }
    return 0;
  }
  process.stderr.write('usage:\n  pw [user|group|lock|unlock] [add|del|mod|show|next] [help|switches/values]\n');
  return 64;
}
