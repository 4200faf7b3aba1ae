/**
 * `bastille start|stop|restart|config` (BastilleBSD/bastille 1.4.4,
 * usr/local/share/bastille/{start,stop,restart,config}.sh) and the `jail -c` /
 * `jail -r` they run (FreeBSD 14 usr.sbin/jail, read in sobomax/freebsd14_vendor).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { info, parseOpts, readSettings, resolveTargets, subUsage, wordIn } from './bastille-sim.js';
import { fail, jailPids, jailRoot, jailsDir, listJails, recordProc, releaseRacct, withState, type SimState } from './state.js';

const JAIL_SIDE = /^\s*vnet\.interface = (\S+);/m;

/** The host side of a jail.conf's VNET link: `e0b_X` → `e0a_X` (jib), `ng0_X` as is (jng). */
export function hostSideOf(conf: string): string | undefined {
  const m = JAIL_SIDE.exec(conf);
  if (m === null) return undefined;
  const jailSide = m[1] as string;
  return jailSide.startsWith('e0b_') ? `e0a_${jailSide.slice(4)}` : jailSide;
}

function jailConf(s: SimState, jail: string): string {
  return readFileSync(join(jailsDir(s), jail, 'jail.conf'), 'utf8');
}

/** The rc daemons of a started jail (the default templates keep syslogd and cron enabled): one long sleep stands for them. */
function startDaemon(s: SimState): ReturnType<typeof recordProc> {
  const child = spawn('sleep', ['2147483647'], { detached: true, stdio: 'ignore' });
  child.unref();
  const p = child.pid === undefined ? undefined : recordProc(child.pid);
  if (p !== undefined) s.daemons.push(p);
  return p;
}

/**
 * start.sh for one jail, then `jail -f jail.conf -c NAME`: "Jail is already running." (error_continue, exit 0) when jls lists it;
 * a failing `jail -c` prints jail(8)'s error and start.sh carries on (exit 0). Creating mounts mount.fstab and mount.devfs, runs
 * exec.prestart (jib creates the epair and names its host side, which fails when that name is taken by an epair left behind),
 * and keeps `persist` only if jail.conf sets it (jail.c create_jail/clear_persist).
 */
export function startOne(s: SimState, jail: string): void {
  info(`\n[${jail}]:`);
  if (s.running[jail] !== undefined) {
    info('Jail is already running.');
    return;
  }
  const conf = jailConf(s, jail);
  const link = hostSideOf(conf);
  if (s.faults.startFails.includes(jail)) {
    process.stderr.write(`jail: ${jail}: exec.start: /bin/sh /etc/rc: failed\njail: ${jail}: failed\n`);
    return;
  }
  if (link !== undefined && s.interfaces[link] !== undefined) {
    process.stderr.write(`ifconfig: SIOCSIFNAME (set name): File exists\njail: ${jail}: exec.prestart: failed\n`);
    return;
  }
  const root = jailRoot(s, jail);
  const fstab = /^\s*mount\.fstab = (\S+);/m.exec(conf)?.[1];
  if (fstab !== undefined) {
    for (const line of readFileSync(fstab, 'utf8').split('\n')) {
      const [from, on, type, opts] = line.trim().split(/\s+/);
      if (from !== undefined && from !== '' && !from.startsWith('#') && on !== undefined) s.mounts.push({ from, on, type: type ?? 'nullfs', opts: opts ?? 'rw' });
    }
  }
  if (/^\s*mount\.devfs;/m.test(conf)) s.mounts.push({ from: 'devfs', on: join(root, 'dev'), type: 'devfs', opts: 'rw' });
  if (link !== undefined) s.interfaces[link] = { rx: 0, tx: 0, description: `vnet0 host interface for Bastille jail ${jail}`, index: s.nextIfIndex++ };
  const daemon = startDaemon(s);
  s.running[jail] = { jid: s.nextJid++, procs: daemon === undefined ? [] : [daemon], persist: /^\s*persist\s*;/m.test(conf) };
  s.racct[jail] ??= { cputime: 0, base: 0, seen: {} };
  process.stdout.write(`${jail}: created\n`);
}

/** `jail -r`: exec.stop, every process killed, the fstab and devfs mounts undone, exec.poststop (`ifconfig e0a_X destroy` / `jng shutdown`). */
export function removeJail(s: SimState, jail: string): void {
  const j = s.running[jail];
  if (j === undefined) return;
  for (const pid of jailPids(j)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  const root = jailRoot(s, jail);
  s.mounts = s.mounts.filter((m) => !m.on.startsWith(`${root}/`));
  const link = hostSideOf(jailConf(s, jail));
  if (link !== undefined) delete s.interfaces[link];
  delete s.running[jail];
  releaseRacct(s, jail);
  process.stdout.write(`${jail}: removed\n`);
}

/**
 * stop.sh for one jail: first every other jail whose settings.conf holds the name as a word (`grep -hoqsw`) is stopped
 * (`bastille stop DEPEND_JAIL`) — each settings.conf holds boot="on", depend="", priority="99"; then "Jail is already
 * stopped." (error_continue, exit 0) when jls does not list it, else `jail -r`.
 */
export function stopOne(s: SimState, jail: string, visiting: Set<string> = new Set()): void {
  visiting.add(jail);
  for (const other of listJails(s)) {
    if (other === jail || visiting.has(other)) continue;
    if (wordIn(jail, readSettings(s, other))) stopOne(s, other, visiting);
  }
  info(`\n[${jail}]:`);
  if (s.running[jail] === undefined) {
    info('Jail is already stopped.');
    return;
  }
  removeJail(s, jail);
}

function oneTarget(argv: string[], long: Record<string, string>, short: string, line: string, options: string, valued: string[] = []): string {
  const o = parseOpts(argv, long, short, valued);
  if (o.flags.has('help') || o.rest.length !== 1) subUsage(line, options);
  return o.rest[0] as string;
}

export function runStart(argv: string[]): void {
  const t = oneTarget(argv, { '--boot': 'b', '--delay': 'd', '-d': 'd', '--verbose': 'v', '--debug': 'x' }, 'bvx', 'Usage: bastille start [option(s)] TARGET', '    -b | --boot   ...', ['d']);
  withState((s) => resolveTargets(s, t).forEach((j) => startOne(s, j)));
}

export function runStop(argv: string[]): void {
  const t = oneTarget(argv, { '--force': 'f', '--verbose': 'v', '--debug': 'x' }, 'fvx', 'Usage: bastille stop [option(s)] TARGET', '    -f | --force  ...');
  withState((s) => resolveTargets(s, t, true).forEach((j) => stopOne(s, j)));
}

/** restart.sh: `bastille stop` then `bastille start` of each target. */
export function runRestart(argv: string[]): void {
  const t = oneTarget(argv, { '--boot': 'b', '--ignore': 'i', '--verbose': 'v', '--debug': 'x' }, 'bivx', 'Usage: bastille restart [option(s)] TARGET', '    -i | --ignore ...');
  withState((s) =>
    resolveTargets(s, t).forEach((j) => {
      stopOne(s, j);
      startOne(s, j);
    }),
  );
}

const CONFIG_PROPERTIES = new Set(['persist', 'nopersist', 'children.max', 'securelevel', 'devfs_ruleset', 'enforce_statfs', 'allow.mlock', 'allow.raw_sockets', 'exec.timeout', 'stop.timeout', 'host.hostname', 'vnet', 'ip4.addr']);

/** config.sh `set|add` of a jail.conf property: `  PROP;` or `  PROP = VALUE;` replacing its line, else before the closing brace. */
function setProperty(conf: string, prop: string, value: string): string {
  const line = value === '' ? `  ${prop};` : `  ${prop} = ${value};`;
  const lines = conf.split('\n');
  const at = lines.findIndex((l) => new RegExp(`^\\s*${prop.replace('.', '\\.')}\\s*(=|;)`).test(l));
  if (at >= 0) lines[at] = line;
  else lines.splice(lines.lastIndexOf('}'), 0, line);
  return lines.join('\n');
}

/** config.sh: `config TARGET set|add|get|remove PROPERTY [VALUE]` on jail.conf; set ends with "A restart is required …". */
export function runConfig(argv: string[]): void {
  const o = parseOpts(argv, { '--debug': 'x' }, 'x');
  const usage = (): never => subUsage('Usage: bastille config [option(s)] TARGET set|add PROPERTY [VALUE]\n                                          get|remove PROPERTY', '    -x | --debug     Enable debug mode.');
  if (o.flags.has('help') || o.rest.length < 3 || o.rest.length > 4) usage();
  const [target, action, prop, value = ''] = o.rest as [string, string, string, string?];
  if (!['set', 'add', 'get', 'remove'].includes(action)) fail('[ERROR]: Only (add|set), get and remove are supported.\n');
  if (!CONFIG_PROPERTIES.has(prop)) fail(`[ERROR]: Unsupported property: ${prop}\n`);
  withState((s) => {
    for (const jail of resolveTargets(s, target)) {
      const file = join(jailsDir(s), jail, 'jail.conf');
      const conf = readFileSync(file, 'utf8');
      if (action === 'get') {
        const m = new RegExp(`^\\s*${prop.replace('.', '\\.')}\\s*(?:=\\s*(.*?))?;`, 'm').exec(conf);
        process.stdout.write(`${m === null ? 'not set' : (m[1] ?? 'enabled')}\n`);
      } else if (action === 'remove') {
        writeFileSync(file, conf.split('\n').filter((l) => !l.includes(prop)).join('\n'));
      } else writeFileSync(file, setProperty(conf, prop, value));
    }
  });
  if (action === 'set' || action === 'add' || action === 'remove') info("A restart is required for the changes to be applied. See 'bastille restart'.");
}
