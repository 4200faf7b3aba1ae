/**
 * pkill/pgrep(1), ps(1) and the bookkeeping half of jexec(8), reproducing
 * their argument parsing (getopt letters, usage lines, exit codes) for what
 * the adapter uses: `pkill -SIG -j JID` / `pgrep -j JID` (0 = matched, 1 =
 * none, 2 = syntax), `ps -o pid=,state= -p LIST`, and jexec as read in the
 * FreeBSD 14 sources (sobomax/freebsd14_vendor usr.sbin/jexec/jexec.c: the jail
 * looked up by jid or name, `jail "X" not found`, `-U user` from the jail's
 * passwd, chdir("/"), execvp so the exit code is the command's).
 */
import { appendFileSync, chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getopt } from './getopt.js';
import { fail, findRunning, jailPids, jailRoot, jailsDir, logCall, procInfo, recordProc, reap, withState } from './state.js';

const SIGNALS: Record<string, NodeJS.Signals> = { STOP: 'SIGSTOP', CONT: 'SIGCONT', KILL: 'SIGKILL', TERM: 'SIGTERM', HUP: 'SIGHUP', INT: 'SIGINT', '9': 'SIGKILL', '15': 'SIGTERM', '17': 'SIGSTOP', '19': 'SIGCONT' };

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * pkill/pgrep -j. After SIGKILL the processes exit at once; a jail without `persist` goes with its last one (state.ts reap):
 * the simulated kernel waits (up to 2 s) until the killed processes are gone, then reaps, as the real one would by then.
 */
export function runPkill(argv: string[], tool: 'pkill' | 'pgrep'): void {
  logCall(tool, argv);
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
  const pids = withState((s) => jails.flatMap((j) => j.split(',')).flatMap((j) => {
    const r = findRunning(s, j);
    return r === undefined ? [] : jailPids(r[1]);
  }));
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
  if (signal === 'SIGKILL') {
    for (let i = 0; i < 200 && pids.some((p) => procInfo(p) !== undefined && procInfo(p)?.state !== 'Z'); i++) sleep(10);
    withState(reap);
  }
  process.exit(pids.length > 0 ? 0 : 1);
}

export function runPs(argv: string[]): void {
  logCall('ps', argv);
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

/** The read-only release a thin jail's fstab nullfs-mounts on root/.bastille, or '-' for a jail without one. */
function releaseOf(jailDir: string, root: string): string {
  try {
    const line = readFileSync(join(jailDir, 'fstab'), 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .find((f) => f[1] === `${root}/.bastille`);
    return line?.[0] ?? '-';
  } catch {
    return '-';
  }
}

/**
 * The bookkeeping half of jexec: parse like jexec, find the jail and the user, record the calling shell's pid as a jail
 * process, and print what the shell half (install.ts) needs to exec the command chrooted to the jail root, with the
 * thin jail's release mounted read-only on /.bastille as its fstab says (so the pid that runs the command is the one
 * recorded, as after the real jexec's execvp). getopt "d:lnu:U:": `-d working-directory` as jexec(8) documents it on
 * man.freebsd.org; the FreeBSD 14 jexec.c read (getopt "lnu:U:") does not have it, so the adapter does not use it.
 * `pw` inside the jail is emulated here.
 */
export function runJexecPrep(argv: string[]): void {
  const shellPid = Number(argv[0]);
  const args = argv.slice(1);
  logCall('jexec', args);
  const usage = (): never => fail('usage: jexec [-l] [-d working-directory] [-u username | -U username] jail [command ...]');
  const { opts, rest } = getopt(args, 'd:lnu:U:', usage);
  if (rest.length < 1) usage();
  const u = opts.filter(([c]) => c === 'u');
  const U = opts.filter(([c]) => c === 'U');
  if (u.length > 0 && U.length > 0) usage();
  const cwd = opts.find(([c]) => c === 'd')?.[1] ?? '';
  const target = rest[0] as string;
  const cmd = rest.slice(1);
  const found = withState((s) => {
    const r = findRunning(s, target);
    return r === undefined ? undefined : { jail: r[0], dir: join(jailsDir(s), r[0]), root: jailRoot(s, r[0]) };
  });
  if (found === undefined) fail(`jexec: jail "${target}" not found`);
  const { jail, dir, root } = found;
  const username = U[0]?.[1] ?? u[0]?.[1];
  let ids = '0:0';
  let home = '/root';
  let shell = '/bin/sh';
  if (username !== undefined) {
    const line = readFileSync(join(root, 'etc', 'passwd'), 'utf8')
      .split('\n')
      .find((l) => l.split(':')[0] === username);
    if (line === undefined) fail(`jexec: ${username}: no such user`);
    const f = line.split(':');
    ids = `${f[2]}:${f[3]}`;
    home = f[5] ?? '/';
    shell = f[6] ?? '/bin/sh';
  }
  if (cmd[0] === 'pw' || cmd[0] === '/usr/sbin/pw') {
    if (ids !== '0:0') fail('pw: you must be root to run this program', 77);
    process.exit(emulatePw(root, cmd.slice(1)));
  }
  if (cmd.length === 0) fail('jexec (simulator): an interactive shell is not simulated');
  withState((s) => {
    const j = s.running[jail];
    const p = recordProc(shellPid);
    if (j !== undefined && p !== undefined) j.procs.push(p);
  });
  process.stdout.write(`RUN\n${root}\n${releaseOf(dir, root)}\n${ids}\n${username ?? 'root'}\n${home}\n${shell}\n${cwd}\n${args.length - cmd.length}\n`);
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
