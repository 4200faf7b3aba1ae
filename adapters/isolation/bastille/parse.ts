/**
 * Parsers for what the FreeBSD tools print. Each takes the tool's stdout and
 * returns plain data, or throws a BastilleError naming the tool when the
 * output is not of the documented shape (never guesses).
 */
import { BastilleError } from './bastille-error.js';

export interface JlsJail {
  jid: number;
  name: string;
  path: string;
  hostname: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `jls --libxo json jid name path host.hostname` → {"__version": "2", "jail-information": {"jail": [...]}} */
export function parseJlsJson(stdout: string): JlsJail[] {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch (e) {
    throw new BastilleError('state', 'jls --libxo json', `output is not JSON: ${stdout.slice(0, 120)}`, { cause: e });
  }
  const info = isRecord(doc) ? doc['jail-information'] : undefined;
  const list = isRecord(info) ? info.jail : undefined;
  if (!Array.isArray(list)) throw new BastilleError('state', 'jls --libxo json', 'no "jail-information"."jail" list in the output');
  return list.map((j, i) => {
    if (!isRecord(j)) throw new BastilleError('state', 'jls --libxo json', `jail[${i}] is not an object`);
    const jid = typeof j.jid === 'number' ? j.jid : typeof j.jid === 'string' ? Number(j.jid) : NaN;
    const name = j.name;
    const path = j.path;
    const hostname = j['host.hostname'] ?? j.hostname ?? '';
    if (!Number.isInteger(jid) || jid <= 0 || typeof name !== 'string' || typeof path !== 'string' || typeof hostname !== 'string') {
      throw new BastilleError('state', 'jls --libxo json', `jail[${i}] lacks jid/name/path: ${JSON.stringify(j).slice(0, 200)}`);
    }
    return { jid, name, path, hostname };
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
 * `netstat -I IF -bn --libxo json` → {"statistics": {"interface": [{name, network: "<Link#N>", "received-bytes", "sent-bytes", ...}, ...]}}.
 * The link-level row carries the interface's counters; address rows repeat per-address ones. Undefined when the interface is absent.
 */
export function parseNetstatJson(stdout: string, ifname: string): LinkCounters | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch (e) {
    throw new BastilleError('state', 'netstat --libxo json', `output is not JSON: ${stdout.slice(0, 120)}`, { cause: e });
  }
  const stats = isRecord(doc) ? doc.statistics : undefined;
  const list = isRecord(stats) ? stats.interface : undefined;
  if (!Array.isArray(list)) throw new BastilleError('state', 'netstat --libxo json', 'no "statistics"."interface" list in the output');
  for (const row of list) {
    if (!isRecord(row) || row.name !== ifname) continue;
    if (typeof row.network !== 'string' || !row.network.startsWith('<Link')) continue;
    const rx = Number(row['received-bytes']);
    const tx = Number(row['sent-bytes']);
    if (!Number.isFinite(rx) || !Number.isFinite(tx)) throw new BastilleError('state', 'netstat --libxo json', `row for ${ifname} lacks received-bytes/sent-bytes (was -b given?)`);
    return { receivedBytes: rx, sentBytes: tx };
  }
  return undefined;
}

/** The host side of a Bastille VNET jail's epair, from its jail.conf (`vnet.interface = e0b_X;` → `e0a_X`). */
export function hostEpairFromJailConf(conf: string): string | undefined {
  const m = /^\s*vnet\.interface\s*=\s*"?(e0b_[A-Za-z0-9_]+)"?\s*;/m.exec(conf);
  return m === null ? undefined : `e0a_${(m[1] as string).slice(4)}`;
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
