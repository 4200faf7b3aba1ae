/**
 * The host's views of jails, links, mounts and datasets, with the argument
 * handling and output formats of FreeBSD 14 (sobomax/freebsd14_vendor):
 *
 * - jls(8) (usr.sbin/jls/jls.c): getopt "adj:hNnqsv"; given parameters, each
 *   value is `jailparam_export`ed and emitted with `%s`, so libxo's JSON holds
 *   strings (`"jid": "1"`, booleans `"true"`/`"false"`, `children.max` `"0"`:
 *   Bastille never sets it, jail(8) says it is zero by default);
 * - netstat(1) -I IF -b (usr.bin/netstat/main.c getopt, if.c `intpr`): an
 *   empty interface list, exit 0, for an absent interface; counters as numbers;
 * - mount(8) -p (`putfsent`): `from<TAB>on<TAB>fstype opts<TAB>freq pass`;
 * - umount(8) (sbin/umount/umount.c): "X: not a file system root directory",
 *   exit 1, for a directory that is not mounted;
 * - ifconfig(8) -l: names on one line; `ifconfig IF destroy` of an absent
 *   interface: "interface IF does not exist", exit 1;
 * - zfs(8) get [-Hp] [-o fields] (OpenZFS): `-H` tab-separated without header,
 *   `-p` exact numbers, "cannot open 'X': dataset does not exist", exit 1.
 *   `used` of a dataset is what `du -s -B1 -x` counts below its mount point.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getopt, takeLibxo } from './getopt.js';
import { fail, jailsDir, logCall, withState, type SimState } from './state.js';

const JLS_PARAMS = ['jid', 'name', 'path', 'host.hostname', 'hostname', 'ip4.addr', 'ip6.addr', 'vnet', 'dying', 'parent', 'children.max', 'children.cur', 'securelevel', 'devfs_ruleset', 'enforce_statfs', 'osrelease', 'osreldate', 'persist'];

function jlsValue(s: SimState, name: string, p: string): string {
  const j = s.running[name];
  const conf = (): string => readFileSync(join(jailsDir(s), name, 'jail.conf'), 'utf8');
  const fromConf = (key: string, dflt: string): string => new RegExp(`^\\s*${key}\\s*=\\s*"?([^";]*)"?;`, 'm').exec(conf())?.[1] ?? dflt;
  switch (p) {
    case 'jid':
      return String(j?.jid ?? 0);
    case 'name':
    case 'host.hostname':
    case 'hostname':
      return name;
    case 'path':
      return join(jailsDir(s), name, 'root');
    case 'persist':
      return j?.persist === true ? 'true' : 'false';
    case 'dying':
      return 'false';
    case 'vnet':
      return /^\s*vnet;/m.test(conf()) ? 'new' : 'inherit';
    case 'children.max':
    case 'children.cur':
    case 'parent':
      return '0';
    case 'securelevel':
    case 'devfs_ruleset':
    case 'enforce_statfs':
    case 'osrelease':
      return fromConf(p.replace('.', '\\.'), '');
    default:
      return '';
  }
}

export function runJls(argv: string[]): void {
  logCall('jls', argv);
  const { json, args } = takeLibxo(argv);
  const usage = (): never => fail('usage: jls [-dhNnqv] [-j jail] [param ...]');
  const { opts, rest } = getopt(args, 'adj:hNnqsv', usage);
  for (const p of rest) if (!JLS_PARAMS.includes(p)) fail(`jls: unknown parameter: ${p}`);
  withState((s) => {
    const jFilter = opts.find(([c]) => c === 'j')?.[1];
    let rows = Object.entries(s.running).sort((a, b) => a[1].jid - b[1].jid);
    if (jFilter !== undefined) {
      rows = rows.filter(([n, j]) => n === jFilter || String(j.jid) === jFilter);
      if (rows.length === 0) fail(`jls: jail "${jFilter}" not found`);
    }
    const params = rest.length > 0 ? rest : ['jid', 'ip4.addr', 'hostname', 'path'];
    if (json) {
      const list = rows.map(([n]) => Object.fromEntries(params.map((p) => [p, jlsValue(s, n, p)])));
      // libxo: {"__version": "2", "jail-information": {"jail": [{"jid":"1","name":"j",…}]}}
      process.stdout.write(`{"__version": "2", "jail-information": {"jail": [${list.map((j) => JSON.stringify(j)).join(', ')}]}}\n`);
    } else {
      for (const [n] of rows) process.stdout.write(`${params.map((p) => jlsValue(s, n, p) || '-').join(' ')}\n`);
    }
  });
  process.exit(0);
}

export function runNetstat(argv: string[]): void {
  logCall('netstat', argv);
  const { json, args } = takeLibxo(argv);
  const usage = (): never =>
    fail('usage: netstat [-46AaCcLnRSTWx] [-f protocol_family | -p protocol]\n               [-M core] [-N system]\n       netstat -i | -I interface [-46abdhnW] [-f address_family]\n               [-M core] [-N system]');
  const { opts, rest } = getopt(args, '46AaBbCcdF:f:ghI:iLlM:mN:nOoPp:Qq:RrSTsuWw:xz', usage);
  if (rest.length > 0) usage();
  const ifname = opts.find(([c]) => c === 'I')?.[1];
  const bytes = opts.some(([c]) => c === 'b');
  if (ifname === undefined) fail('netstat (simulator): only -I interface is simulated');
  withState((s) => {
    const i = s.interfaces[ifname];
    const row = (n: { rx: number; tx: number; index: number }) => ({
      name: ifname,
      flags: '0x8863',
      mtu: 1500,
      network: `<Link#${n.index}>`,
      address: '58:9c:fc:10:ff:a0',
      'received-packets': Math.ceil(n.rx / 1000),
      'received-errors': 0,
      'dropped-packets': 0,
      ...(bytes ? { 'received-bytes': n.rx } : {}),
      'sent-packets': Math.ceil(n.tx / 1000),
      'send-errors': 0,
      ...(bytes ? { 'sent-bytes': n.tx } : {}),
      collisions: 0,
    });
    const rows = i === undefined ? [] : [row(i)];
    if (json) process.stdout.write(`${JSON.stringify({ statistics: { interface: rows } })}\n`);
    else {
      process.stdout.write('Name    Mtu Network       Address              Ipkts Ierrs Idrop     Ibytes    Opkts Oerrs     Obytes  Coll\n');
      for (const r of rows) process.stdout.write(`${r.name} ${r.mtu} ${r.network} ${r.address} ${r['received-packets']} 0 0 ${i?.rx ?? 0} ${r['sent-packets']} 0 ${i?.tx ?? 0} 0\n`);
    }
  });
  process.exit(0);
}

const BASE_MOUNTS = [
  { from: '/dev/ada0p2', on: '/', type: 'ufs', opts: 'rw' },
  { from: 'devfs', on: '/dev', type: 'devfs', opts: 'rw' },
];

export function runMount(argv: string[]): void {
  logCall('mount', argv);
  const usage = (): never => fail('usage: mount [-adflpruvw] [-F fstab] [-o options] [-t ufs | external_type]\n       mount [-dfpruvw] special | node\n       mount [-dfpruvw] [-o options] [-t ufs | external_type] special node');
  const { opts, rest } = getopt(argv, 'adF:flLo:prt:uvw', usage);
  if (rest.length > 0) fail('mount (simulator): only listing is simulated');
  withState((s) => {
    for (const m of [...BASE_MOUNTS, ...s.mounts]) {
      if (opts.some(([c]) => c === 'p')) process.stdout.write(`${m.from}\t${m.on}\t${m.type} ${m.opts}\t${m.type === 'ufs' ? '1 1' : '0 0'}\n`);
      else process.stdout.write(`${m.from} on ${m.on} (${m.type}${m.opts.startsWith('ro') ? ', read-only' : ''})\n`);
    }
  });
  process.exit(0);
}

export function runUmount(argv: string[]): void {
  logCall('umount', argv);
  const usage = (): never => fail('usage: umount [-fNnv] special ... | node ... | fsid ...\n       umount -a | -A [-F fstab] [-fnv] [-h host] [-t type]');
  const { rest } = getopt(argv, 'AaF:fh:Nnt:v', usage);
  if (rest.length === 0) usage();
  let errors = 0;
  withState((s) => {
    for (const p of rest) {
      const at = s.mounts.map((m) => m.on).lastIndexOf(p);
      if (at >= 0) s.mounts.splice(at, 1);
      else {
        process.stderr.write(existsSync(p) ? `umount: ${p}: not a file system root directory\n` : `umount: ${p}: stat: No such file or directory\numount: ${p}: unknown file system\n`);
        errors = 1;
      }
    }
  });
  process.exit(errors);
}

export function runIfconfig(argv: string[]): void {
  logCall('ifconfig', argv);
  withState((s) => {
    if (argv.length === 1 && argv[0] === '-l') {
      process.stdout.write(`${Object.keys(s.interfaces).join(' ')}\n`);
      return;
    }
    const [ifname, action] = argv;
    if (ifname === undefined || ifname.startsWith('-')) fail('usage: ifconfig [-j jail] [-f type:format] [-L] [-C] [-g groupname] interface address_family\n       ifconfig -l [-d] [-u] [address_family]');
    if (s.interfaces[ifname] === undefined) fail(`ifconfig: interface ${ifname} does not exist`);
    if (action === 'destroy') delete s.interfaces[ifname];
    else if (action === undefined) process.stdout.write(`${ifname}: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1500\n`);
    else fail(`ifconfig (simulator): "${action}" is not simulated`);
  });
  process.exit(0);
}

/** zfs get / zfs list -H -o name: the datasets bastille create made, `used` counted below each one's mount point. */
export function runZfs(argv: string[]): void {
  logCall('zfs', argv);
  const [sub, ...args] = argv;
  if (sub !== 'get' && sub !== 'list') fail(`zfs (simulator): "${String(sub)}" is not simulated`, 2);
  const { opts, rest } = getopt(args, 'Hpo:rd:s:t:', () => fail(`usage:\n\t${sub} …`, 2));
  const fields = (opts.find(([c]) => c === 'o')?.[1] ?? (sub === 'get' ? 'name,property,value,source' : 'name')).split(',');
  const props = sub === 'get' ? (rest.shift() ?? '').split(',') : ['name'];
  let errors = 0;
  withState((s) => {
    if (!opts.some(([c]) => c === 'H')) process.stdout.write(`${fields.map((f) => f.toUpperCase()).join('\t')}\n`);
    for (const ds of rest) {
      if (!s.datasets.includes(ds)) {
        process.stderr.write(`cannot open '${ds}': dataset does not exist\n`);
        errors = 1;
        continue;
      }
      const mountpoint = s.mounts.find((m) => m.from === ds)?.on ?? '';
      for (const prop of props) {
        const value = prop === 'used' ? execFileSync('du', ['-s', '-B1', '-x', mountpoint], { encoding: 'utf8' }).split('\t')[0] ?? '0' : prop === 'name' ? ds : prop === 'mountpoint' ? mountpoint : '-';
        const row: Record<string, string> = { name: ds, property: prop, value, source: '-' };
        process.stdout.write(`${fields.map((f) => row[f] ?? '-').join('\t')}\n`);
      }
    }
  });
  process.exit(errors);
}

