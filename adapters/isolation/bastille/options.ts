/**
 * The adapter's options (docs/adapters/bastille.md, configuration table),
 * validated once at construction: a bad value throws a `config` BastilleError
 * naming the option. `resolveOptions` returns them with every default filled
 * in, so the rest of the adapter never looks at an optional.
 */
import { join } from 'node:path';
import { parseIpv4Address, type Ipv4Cidr } from '../../../bus-schemas/units/ipv4-cidr.js';
import { BastilleError } from './bastille-error.js';
import { createCommandRunner, type CommandRunner } from './command-runner.js';
import { parseRange } from './network.js';

export interface BastilleLog {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface BastilleIsolationOptions {
  /** how tools are run; default execFile/spawn with the FreeBSD system PATH */
  run?: CommandRunner;
  /** bastille_prefix of bastille.conf; default /usr/local/bastille */
  bastillePrefix?: string;
  /** Bastille's own configuration, read for its jails directory, ZFS layout and VNET type; default /usr/local/etc/bastille/bastille.conf */
  bastilleConfig?: string;
  /** a bootstrapped release, e.g. 14.2-RELEASE */
  release: string;
  /** physical interface for VNET (-V) jails of egress units; required to create one */
  interface?: string;
  /** interface holding the address of network=none jails (Bastille's loopback setup); default bastille0 */
  loopbackInterface?: string;
  /** IPv4 CIDR the jails' addresses come from; default 10.17.89.0/24 */
  ipRange?: string;
  /** default router of VNET jails (`bastille create -g`), inside ipRange; without it Bastille uses bastille_network_gateway or the host's default route */
  gateway?: string;
  /** unit records; default <bastillePrefix>/holonet-units */
  stateDir?: string;
  /** the unprivileged user created in every jail; default unit, uid = gid = 1001 */
  unitUser?: UnitUser;
  log?: BastilleLog;
}

export interface UnitUser {
  name: string;
  uid: number;
  gid: number;
}

/** The options with their defaults, checked. */
export interface ResolvedOptions {
  run: CommandRunner;
  release: string;
  /** the VNET interface; undefined = no egress units on this host */
  vnetInterface: string | undefined;
  loopbackInterface: string;
  range: Ipv4Cidr;
  /** `-g` for VNET jails; never allocated to a jail */
  gateway: string | undefined;
  bastilleConfig: string;
  /** `<prefix>/jails`: one directory per jail, with its jail.conf and root/ */
  jailsDir: string;
  stateDir: string;
  user: UnitUser;
  /** the unit user's home inside the jail, exec()'s default working directory */
  home: string;
  log: BastilleLog;
}

const RELEASE_PATTERN = /^[0-9]{1,2}\.[0-9](-RELEASE|-RELEASE-i386|-RC[1-9]|-BETA[1-9]|-STABLE|-CURRENT)$/;
const IFACE_PATTERN = /^[a-z][a-z0-9_.]{0,14}$/;
const silent: BastilleLog = { info: () => undefined, warn: () => undefined };

function validateOptions(o: BastilleIsolationOptions): void {
  if (typeof o.release !== 'string' || !RELEASE_PATTERN.test(o.release)) {
    throw new BastilleError('config', 'release', `${JSON.stringify(o.release)} is not a FreeBSD release name like 14.2-RELEASE`);
  }
  for (const key of ['bastillePrefix', 'bastilleConfig'] as const) {
    const v = o[key];
    // mount -p prints paths unescaped, tab-separated: no whitespace, so every mount point reads back exactly
    if (v !== undefined && (typeof v !== 'string' || !v.startsWith('/') || /[\0\s]/.test(v))) {
      throw new BastilleError('config', key, `${JSON.stringify(v)} must be an absolute path without whitespace`);
    }
  }
  for (const key of ['interface', 'loopbackInterface'] as const) {
    const v = o[key];
    if (v !== undefined && !IFACE_PATTERN.test(v)) throw new BastilleError('config', key, `${JSON.stringify(v)} is not a FreeBSD interface name`);
  }
  const u = o.unitUser;
  if (u !== undefined && (!/^[a-z_][a-z0-9_-]{0,15}$/.test(u.name) || !(u.uid >= 1000 && u.uid < 65535) || !(u.gid >= 1000 && u.gid < 65535))) {
    throw new BastilleError('config', 'unitUser', 'needs a user name and uid/gid between 1000 and 65534');
  }
}

/** The gateway must be a host address of the range: the jails' default route has to be reachable on their link. */
function checkGateway(gateway: string | undefined, range: Ipv4Cidr): void {
  if (gateway === undefined) return;
  const g = typeof gateway === 'string' ? parseIpv4Address(gateway) : undefined;
  const size = 2 ** (32 - range.prefix);
  if (g === undefined || g <= range.base || g >= range.base + size - 1) {
    throw new BastilleError('config', 'gateway', `${JSON.stringify(gateway)} is not a host address inside ipRange`);
  }
}

export function resolveOptions(options: BastilleIsolationOptions): ResolvedOptions {
  validateOptions(options);
  const run = options.run ?? createCommandRunner();
  const prefix = options.bastillePrefix ?? '/usr/local/bastille';
  const range = parseRange(options.ipRange ?? '10.17.89.0/24');
  checkGateway(options.gateway, range);
  const user = options.unitUser ?? { name: 'unit', uid: 1001, gid: 1001 };
  return {
    run,
    release: options.release,
    vnetInterface: options.interface,
    loopbackInterface: options.loopbackInterface ?? 'bastille0',
    range,
    gateway: options.gateway,
    bastilleConfig: options.bastilleConfig ?? '/usr/local/etc/bastille/bastille.conf',
    jailsDir: join(prefix, 'jails'),
    stateDir: options.stateDir ?? join(prefix, 'holonet-units'),
    user,
    home: `/home/${user.name}`,
    log: options.log ?? silent,
  };
}
