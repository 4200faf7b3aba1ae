/**
 * Parsers for what the FreeBSD tools print. Each takes the tool's stdout and
 * returns plain data, or throws a BastilleError naming the tool when the
 * output is not of the documented shape (never guesses). The shapes, read in
 * the FreeBSD 14 sources (sobomax/freebsd14_vendor, a vendor copy of 14.x):
 *
 * - jls(8) with parameters: `quoted_print` emits every value with `%s` from
 *   `jailparam_export`, so libxo's JSON has strings: `"jid": "3"`, booleans as
 *   `"true"`/`"false"` (libjail `bool_values`);
 * - rctl(8) -u: `resource=value` per line, raw numbers without -h;
 * - netstat(1) -I IF -bn --libxo json: `statistics.interface[]` rows with
 *   numeric counters (`{:received-bytes/%lu}` in usr.bin/netstat/if.c);
 * - mount(8) -p: `putfsent`, `from<TAB>on<TAB>fstype opts<TAB>freq pass`;
 * - ifconfig(8) -l: the interface names on one line, separated by spaces;
 * - zfs(8) get -Hp -o value: the bare value, one line per dataset.
 */
import { BastilleError } from './bastille-error.js';

export interface JlsJail {
  jid: number;
  name: string;
  path: string;
  /** the jail's `persist` parameter: without it the kernel removes the jail with its last process (jail(8)) */
  persist: boolean;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(stdout: string, tool: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch (e) {
    throw new BastilleError('state', tool, `output is not JSON: ${stdout.slice(0, 120)}`, { cause: e });
  }
}

/** `jls --libxo json jid name path persist` → {"__version": "2", "jail-information": {"jail": [{"jid": "1", …}]}} */
export function parseJlsJson(stdout: string): JlsJail[] {
  const doc = parseJson(stdout, 'jls --libxo json');
  const info = isRecord(doc) ? doc['jail-information'] : undefined;
  const list = isRecord(info) ? info.jail : undefined;
  if (!Array.isArray(list)) throw new BastilleError('state', 'jls --libxo json', 'no "jail-information"."jail" list in the output');
  return list.map((j, i) => {
    if (!isRecord(j)) throw new BastilleError('state', 'jls --libxo json', `jail[${i}] is not an object`);
    const jid = typeof j.jid === 'string' && /^[1-9][0-9]*$/.test(j.jid) ? Number(j.jid) : NaN;
    const { name, path, persist } = j;
    if (!Number.isSafeInteger(jid) || typeof name !== 'string' || typeof path !== 'string' || (persist !== 'true' && persist !== 'false')) {
      throw new BastilleError('state', 'jls --libxo json', `jail[${i}] lacks jid/name/path/persist as strings: ${JSON.stringify(j).slice(0, 200)}`);
    }
    return { jid, name, path, persist: persist === 'true' };
  });
}

/** `rctl -u jail:NAME` → resource=value lines (raw numbers without -h). */
export function parseRctlUsage(stdout: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const l = line.trim();
    if (l === '') continue;
    const m = /^([a-z]+)=(\d+)$/.exec(l);
    if (m === null) throw new BastilleError('state', 'rctl -u', `unexpected line ${JSON.stringify(l.slice(0, 80))}`);
    out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

/** `rctl jail:NAME` → the rules, one per line (`jail:NAME:memoryuse:deny=536870912`). */
export function parseRctlRules(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

export interface LinkCounters {
  receivedBytes: number;
  sentBytes: number;
}

/**
 * `netstat -I IF -bn --libxo json` → {"statistics": {"interface": [{name, network: "<Link#N>", "received-bytes", "sent-bytes", …}]}}.
 * The link-level row carries the interface's counters; address rows repeat per-address ones. Undefined when the interface is absent
 * (netstat prints an empty list and exits 0: intpr() only filters by name).
 */
export function parseNetstatJson(stdout: string, ifname: string): LinkCounters | undefined {
  const doc = parseJson(stdout, 'netstat --libxo json');
  const stats = isRecord(doc) ? doc.statistics : undefined;
  const list = isRecord(stats) ? stats.interface : undefined;
  if (!Array.isArray(list)) throw new BastilleError('state', 'netstat --libxo json', 'no "statistics"."interface" list in the output');
  for (const row of list) {
    if (!isRecord(row) || row.name !== ifname) continue;
    if (typeof row.network !== 'string' || !row.network.startsWith('<Link')) continue;
    const rx = row['received-bytes'];
    const tx = row['sent-bytes'];
    if (typeof rx !== 'number' || typeof tx !== 'number') throw new BastilleError('state', 'netstat --libxo json', `row for ${ifname} lacks numeric received-bytes/sent-bytes (was -b given?)`);
    return { receivedBytes: rx, sentBytes: tx };
  }
  return undefined;
}

/**
 * The host side of a Bastille VNET jail's link, from its jail.conf: `vnet.interface = e0b_X;` → `e0a_X` (an epair made by
 * jib(8)), `vnet.interface = ng0_X;` → `ng0_X` (netgraph, jng(8)); undefined without VNET.
 */
export function hostLinkFromJailConf(conf: string): string | undefined {
  const m = /^\s*vnet\.interface\s*=\s*"?([A-Za-z0-9_.]+)"?\s*;/m.exec(conf);
  if (m === null) return undefined;
  const jailSide = m[1] as string;
  return jailSide.startsWith('e0b_') ? `e0a_${jailSide.slice(4)}` : jailSide;
}

/** `persist;` in a jail.conf block (jail.conf(5): a boolean parameter set by its name alone). */
export function jailConfPersists(conf: string): boolean {
  return /^\s*persist\s*;/m.test(conf);
}

/** `mount -p` → the mount points (second field of each fstab-style line). */
export function parseMountPoints(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const f = l.split('\t');
      if (f.length < 4 || !(f[1] as string).startsWith('/')) throw new BastilleError('state', 'mount -p', `unexpected line ${JSON.stringify(l.slice(0, 120))}`);
      return f[1] as string;
    });
}

/** `ifconfig -l` → interface names. */
export function parseIfconfigList(stdout: string): string[] {
  return stdout.split(/\s+/).filter((n) => n !== '');
}

/** `zfs get -Hp -o value used DATASET` → bytes. */
export function parseZfsBytes(stdout: string, dataset: string): number {
  const v = stdout.trim();
  if (!/^\d+$/.test(v)) throw new BastilleError('state', `zfs get used ${dataset}`, `not a byte count: ${JSON.stringify(v.slice(0, 80))}`);
  return Number(v);
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** One user from an /etc/passwd text (`name:pw:uid:gid:gecos:home:shell`). */
export function findPasswdEntry(passwd: string, user: string): PasswdEntry | undefined {
  for (const line of passwd.split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.split(':');
    if (f[0] !== user || f.length < 7) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
    return { name: user, uid, gid, home: f[5] ?? '' };
  }
  return undefined;
}

/** `ps -o pid=,state= -p …` → pid → state letters (T = stopped). */
export function parsePsStates(stdout: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(\S+)\s*$/.exec(line);
    if (m !== null) out.set(Number(m[1]), m[2] as string);
  }
  return out;
}
