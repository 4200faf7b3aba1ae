/**
 * `bastille` 1.4 as its shell scripts behave (usr/local/bin/bastille and
 * usr/local/share/bastille/{create,start,stop,destroy,list}.sh at tag 1.4.4):
 * the same option parsing (unknown option → `[ERROR]: Unknown Option: "-q"`,
 * exit 1; wrong argument count → the subcommand's usage, exit 1), the same
 * name checks, target resolution with prefix autocompletion, epair naming,
 * and the same exit codes — including the exit 0 of `start` when `jail -c`
 * fails, of `start` on a running jail, of `stop` on a stopped jail and of
 * `destroy` on a running jail without -a.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail, findRunning, jailPids, jailsDir, listJails, logCall, readState, withState, type SimState } from './state.js';

const MAIN_USAGE = `
Bastille is an open-source system for automating deployment and management of
containerized applications on FreeBSD.

Usage:
  bastille [option(s)] COMMAND [option(s)] TARGET ARGS
`;

const info = (msg: string): void => void process.stderr.write(`${msg}\n`);

function subUsage(line: string, options: string): never {
  process.stderr.write(`${line}\n`);
  process.stdout.write(`\n    Options:\n\n${options}\n`);
  process.exit(1);
}

/** Bastille's option loop: long forms, then clustered short letters; anything else is an unknown option. */
function parseOpts(argv: string[], long: Record<string, string>, short: string, withValue: string[] = []): { flags: Set<string>; values: Map<string, string>; rest: string[] } {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  let i = 0;
  while (i < argv.length) {
    const a = argv[i] as string;
    if (a === '-h' || a === '--help' || a === 'help') return { flags: new Set(['help']), values, rest: [] };
    if (!a.startsWith('-')) break;
    const key = long[a];
    if (key !== undefined) {
      if (withValue.includes(key)) {
        values.set(key, argv[i + 1] ?? '');
        i += 2;
      } else {
        flags.add(key);
        i += 1;
      }
      continue;
    }
    for (const c of a.replace(/-/g, '')) {
      if (!short.includes(c)) fail(`[ERROR]: Unknown Option: "${a}"\n`);
      flags.add(c);
    }
    i += 1;
  }
  return { flags, values, rest: argv.slice(i) };
}

/** common.sh set_target: exact name, JID, or a unique prefix (autocomplete); else "Jail not found". */
function resolveTarget(s: SimState, target: string): string {
  const jails = listJails(s);
  if (jails.includes(target)) return target;
  if (/^\d+$/.test(target)) {
    const r = findRunning(s, target);
    if (r !== undefined) return r[0];
    fail(`Error: JID "${target}" not found. Is jail running?`);
  }
  const auto = jails.filter((j) => j.startsWith(target));
  if (auto.length === 1) return auto[0] as string;
  if (auto.length > 1) fail(`Multiple jails found for ${target}:\n${auto.join('\n')}`);
  fail(`Jail not found "${target}"\n`);
}

function validIp(ip: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/(\d{1,2}))?$/.exec(ip);
  return m !== null && m.slice(1, 5).every((o) => Number(o) <= 255) && (m[6] === undefined || Number(m[6]) <= 32);
}

function epairFor(s: SimState, name: string): string {
  if (`e0a_${name}`.length < 16) return name;
  // common.sh get_bastille_epair_count: lowest bastilleN not used by any jail.conf or live epair
  const used = new Set<string>();
  for (const j of listJails(s)) {
    const m = /bastille\d+/.exec(readFileSync(join(jailsDir(s), j, 'jail.conf'), 'utf8'));
    if (m !== null) used.add(m[0]);
  }
  for (const ifn of Object.keys(s.interfaces)) {
    const m = /^e\d+a_(bastille\d+)$/.exec(ifn);
    if (m !== null) used.add(m[1] as string);
  }
  let n = 1;
  while (used.has(`bastille${n}`)) n++;
  return `bastille${n}`;
}

function create(argv: string[]): void {
  const CREATE_OPTS = '    -B | --bridge   ...\n    -V | --vnet     Enable VNET. INTERFACE must be a physical interface.\n    -T | --thick    Create a thick jail.';
  const o = parseOpts(
    argv,
    { '--bridge': 'B', '--clone': 'C', '--dual': 'D', '--empty': 'E', '--gateway': 'g', '-g': 'g', '--linux': 'L', '--static-mac': 'M', '--nameserver': 'n', '-n': 'n', '--no-boot': 'no-boot', '--no-validate': 'no-validate', '--no-ip': 'no-ip', '--passthrough': 'P', '--priority': 'p', '-p': 'p', '--thick': 'T', '--tags': 'tags', '--vnet': 'V', '--vlan': 'v', '-v': 'v', '--debug': 'x', '--zfs-opts': 'Z', '-Z': 'Z' },
    'BCDELMPTVx',
    ['g', 'n', 'p', 'tags', 'v', 'Z'],
  );
  const usageLine = 'Usage: bastille create [option(s)] NAME RELEASE IP [INTERFACE]';
  if (o.flags.has('help')) subUsage(usageLine, CREATE_OPTS);
  const vnet = o.flags.has('V') || o.flags.has('B') || o.flags.has('P');
  const [name = '', release = '', ip = '', iface] = o.rest;
  info(`\nCreating jail: ${name}...`);
  if (o.rest.length > 4 || o.rest.length < 3) subUsage(usageLine, CREATE_OPTS);
  const s = readState();
  // validate_name
  if (listJails(s).includes(name)) fail(`[ERROR]: Jail already exists: ${name}\n`);
  const sanity = name.replace(/[^a-zA-Z0-9_-]/g, '');
  if (/^[-_]/.test(sanity)) fail('[ERROR]: Jail names may not begin with (-|_) characters!\n');
  if (vnet && /[-_]/.test(name)) fail('[ERROR]: VNET jail names may not contain (-|_) characters.\n');
  if (name !== sanity) fail('[ERROR]: Jail names may not contain special characters!\n');
  if (/^[0-9]+$/.test(name)) fail('[ERROR]: Jail names may not contain only digits.\n');
  // release filter (FreeBSD forms) and validate_release
  if (!/^([1-9][0-9]?)\.[0-9](-RELEASE|-RELEASE-i386|-RC[1-9]|-BETA[1-9]|-STABLE|-CURRENT)$/i.test(release)) {
    process.stderr.write(`Unknown release: ${release}\n`);
    subUsage(usageLine, CREATE_OPTS);
  }
  const relDir = join(s.prefix, 'releases', release.toUpperCase());
  if (!existsSync(relDir)) fail("[ERROR]: Release must be bootstrapped first.\nSee 'bastille bootstrap'.\n");
  if (!validIp(ip)) fail(`[ERROR]: Invalid IP: ${ip}\n`);
  if (iface !== undefined && s.interfaces[iface] === undefined) fail(`[ERROR]: Invalid interface: ${iface}\n`);
  if (vnet && iface === undefined) fail('[ERROR]: Network interface not set.\n');

  const jdir = join(jailsDir(s), name);
  const root = join(jdir, 'root');
  mkdirSync(root, { recursive: true });
  cpSync(relDir, root, { recursive: true });
  writeFileSync(join(jdir, 'fstab'), `${relDir} ${root}/.bastille nullfs ro 0 0\n`);
  let netblock: string;
  if (vnet) {
    const e = epairFor(s, name);
    netblock = [
      '  vnet;',
      `  vnet.interface = e0b_${e};`,
      `  exec.prestart += "jib addm ${e} ${iface ?? ''}";`,
      `  exec.prestart += "ifconfig e0a_${e} description \\"vnet0 host interface for Bastille jail ${name}\\"";`,
      `  exec.poststop += "ifconfig e0a_${e} destroy";`,
    ].join('\n');
    writeFileSync(join(root, 'etc', 'rc.conf'), `ifconfig_e0b_${e}_name="vnet0"\nifconfig_vnet0="inet ${ip}"\n`, { flag: 'a' });
  } else {
    netblock = `  ip4.addr = ${iface ?? 'bastille0'}|${ip};\n  ip6 = disable;`;
  }
  writeFileSync(
    join(jdir, 'jail.conf'),
    `${name} {\n  enforce_statfs = 2;\n  devfs_ruleset = ${vnet ? 13 : 4};\n  exec.clean;\n  exec.start = '/bin/sh /etc/rc';\n  exec.stop = '/bin/sh /etc/rc.shutdown';\n  host.hostname = ${name};\n  mount.devfs;\n  mount.fstab = ${jdir}/fstab;\n  path = ${root};\n  securelevel = 2;\n\n${netblock}\n}\n`,
  );
  writeFileSync(join(jdir, 'settings.conf'), 'boot="on"\ndepend=""\npriority="99"\n');
  // create.sh runs `bastille start NAME` and ignores how it went
  start([name]);
  info(`\n[${name}]:\nApplying template: default/thin...`);
}

function startOne(s: SimState, jail: string): void {
  if (s.running[jail] !== undefined) {
    info(`\n[${jail}]:`);
    info('Jail is already running.');
    return;
  }
  info(`\n[${jail}]:`);
  if (s.faults.startFails.includes(jail)) {
    // jail(8) fails, start.sh carries on: exit status of the loop is 0
    process.stderr.write(`jail: ${jail}: exec.prestart: jib addm failed\njail: ${jail}: failed\n`);
    return;
  }
  const conf = readFileSync(join(jailsDir(s), jail, 'jail.conf'), 'utf8');
  const m = /vnet\.interface = e0b_(\S+);/.exec(conf);
  if (m !== null) {
    const e = m[1] as string;
    s.interfaces[`e0a_${e}`] = { rx: 0, tx: 0, description: `vnet0 host interface for Bastille jail ${jail}`, index: s.nextIfIndex++ };
  }
  s.running[jail] = { jid: s.nextJid++, procs: [], cputime: 0 };
  process.stdout.write(`${jail}: created\n`);
}

function start(argv: string[]): void {
  const o = parseOpts(argv, { '--boot': 'b', '--delay': 'd', '-d': 'd', '--verbose': 'v', '--debug': 'x' }, 'bvx', ['d']);
  const line = 'Usage: bastille start [option(s)] TARGET';
  if (o.flags.has('help') || o.rest.length !== 1) subUsage(line, '    -b | --boot   ...');
  withState((s) => startOne(s, resolveTarget(s, o.rest[0] as string)));
}

function stopOne(s: SimState, jail: string): void {
  const j = s.running[jail];
  info(`\n[${jail}]:`);
  if (j === undefined) {
    info('Jail is already stopped.');
    return;
  }
  for (const pid of jailPids(j)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  const conf = readFileSync(join(jailsDir(s), jail, 'jail.conf'), 'utf8');
  const m = /vnet\.interface = e0b_(\S+);/.exec(conf);
  if (m !== null) delete s.interfaces[`e0a_${m[1] as string}`];
  delete s.running[jail];
  process.stdout.write(`${jail}: removed\n`);
}

function stop(argv: string[]): void {
  const o = parseOpts(argv, { '--force': 'f', '--verbose': 'v', '--debug': 'x' }, 'fvx');
  if (o.flags.has('help') || o.rest.length !== 1) subUsage('Usage: bastille stop [option(s)] TARGET', '    -f | --force  ...');
  withState((s) => stopOne(s, resolveTarget(s, o.rest[0] as string)));
}

function destroy(argv: string[]): void {
  const o = parseOpts(argv, { '--auto': 'a', '--no-cache': 'c', '--force': 'f', '--yes': 'y', '--debug': 'x' }, 'acfyx');
  if (o.flags.has('help') || o.rest.length !== 1) subUsage('Usage: bastille destroy [option(s)] JAIL\n                                    RELEASE', '    -a | --auto  ...');
  withState((s) => {
    const jail = resolveTarget(s, o.rest[0] as string);
    if (s.running[jail] !== undefined) {
      if (o.flags.has('a')) stopOne(s, jail);
      else {
        info(`\n[${jail}]:`);
        process.stderr.write('Jail is running.\nUse [-a|--auto] to auto-stop the jail.\n');
        return; // error_continue: the loop ends, exit 0
      }
    }
    info(`\n[${jail}]:`);
    if (!o.flags.has('y')) {
      process.stderr.write('\nAttempting to destroy jail: ' + jail + '\n\nAre you sure you want to continue? [y|n]:');
      let answer = '';
      try {
        answer = readFileSync(0, 'utf8').split('\n')[0] ?? '';
      } catch {
        answer = '';
      }
      if (/^(y|yes)$/i.test(answer)) {
        // go on
      } else if (/^(n|no)$/i.test(answer)) fail('[ERROR]: Cancelled by user.\n');
      else fail("[ERROR]: Invalid input. Please answer 'y' or 'n'.\n");
    }
    info('Destroying jail...');
    if (s.faults.destroyLeaves.includes(jail)) return; // e.g. a busy dataset: error_continue, exit 0
    rmSync(join(jailsDir(s), jail), { recursive: true, force: true });
  });
}

function list(argv: string[]): void {
  if (argv[0] === 'jails' || argv[0] === 'jail' || argv[0] === 'j') {
    const s = readState();
    for (const j of listJails(s)) process.stdout.write(`${j}\n`);
    return;
  }
  fail('Usage: bastille list [option(s)] [RELEASE (-p)] [template] [JAIL|CONTAINER] [log] [limit] [import] [export] [backup]');
}

export function runBastille(argv: string[]): void {
  logCall('bastille', argv);
  const first = argv[0] ?? '';
  if (first === '-h' || first === '--help') {
    process.stdout.write(MAIN_USAGE);
    process.exit(1);
  }
  if (first === '-v' || first === '--version') {
    process.stderr.write('1.4.4\n');
    process.exit(0);
  }
  if (first.startsWith('-')) fail(`Unknown Option: "${first}"`);
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'create':
      return create(rest);
    case 'start':
      return start(rest);
    case 'stop':
      return stop(rest);
    case 'destroy':
    case 'destory':
      return destroy(rest);
    case 'list':
      return list(rest);
    default:
      // the real dispatcher knows 39 commands; the simulator only the ones the adapter uses
      process.stdout.write(MAIN_USAGE);
      process.exit(1);
  }
}
