/**
 * `bastille create` as create.sh of BastilleBSD/bastille 1.4.4 runs it:
 * option loop, `validate_name`, the release filter and `validate_release`,
 * `validate_ip`, `validate_netif`, `validate_netconf`; then `create_jail`:
 *
 * - the directory (or the ZFS datasets `<zpool>/<prefix>/jails/NAME` and
 *   `…/root` with bastille_zfs_enable), the fstab line that nullfs-mounts the
 *   release read-only on `root/.bastille`, and a thin jail's layout: the
 *   LINK_LIST (`bin boot lib libexec rescue sbin usr/bin usr/include usr/lib
 *   usr/lib32 usr/libdata usr/libexec usr/sbin usr/share usr/src`) as symlinks
 *   to `/.bastille/…`, the FILE_LIST (`.cshrc .profile COPYRIGHT dev etc media
 *   mnt net proc root tmp var usr/obj usr/tests`) copied with `cp -a`;
 * - jail.conf from `generate_jail_conf` / `generate_vnet_jail_conf` with the
 *   netblock of common.sh `generate_vnet_jail_netblock` (if_bridge: jib and
 *   `e0b_NAME`, or `e0b_bastilleN` when `e0a_NAME` exceeds 15 characters;
 *   netgraph: jng and `ng0_NAME`) — no `persist`;
 * - settings.conf (`boot`, `depend`, `priority`), `bastille start NAME`, and
 *   when the jail does not run afterwards `bastille destroy -afy NAME` and
 *   `error_exit "[ERROR]: Failed to create jail: NAME"` (exit 1);
 * - the vnet template (templates/default/vnet/Bastillefile) writing
 *   `defaultrouter` = `-g` value, else bastille_network_gateway (unset here),
 *   else the host's default route; finally `bastille restart NAME`.
 *
 * The simulated release adds `lib64` to the links: the simulated jails run
 * the Linux host's binaries, whose loader is /lib64/ld-linux-x86-64.so.2.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { destroyJail } from './bastille-destroy.js';
import { removeJail, startOne } from './bastille-run.js';
import { info, parseOpts, subUsage } from './bastille-sim.js';
import { fail, jailsDir, listJails, withState, type SimState } from './state.js';

const LINK_LIST = ['bin', 'boot', 'lib', 'libexec', 'rescue', 'sbin', 'usr/bin', 'usr/include', 'usr/lib', 'usr/lib32', 'usr/libdata', 'usr/libexec', 'usr/sbin', 'usr/share', 'usr/src'];
/** Not in Bastille's LINK_LIST: the Linux host's ELF loader path, so that host binaries run in the simulated jail. */
export const HOST_COMPAT_LINKS = ['lib64'];
const FILE_LIST = ['.cshrc', '.profile', 'COPYRIGHT', 'dev', 'etc', 'media', 'mnt', 'net', 'proc', 'root', 'tmp', 'var', 'usr/obj', 'usr/tests'];
const CREATE_OPTS = '    -B | --bridge   ...\n    -g | --gateway IP  Specify a default router/gateway.\n    -V | --vnet     Enable VNET. INTERFACE must be a physical interface.\n    -T | --thick    Create a thick jail.';
const USAGE_LINE = 'Usage: bastille create [option(s)] NAME RELEASE IP [INTERFACE]';

function validIp(ip: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/(\d{1,2}))?$/.exec(ip);
  return m !== null && m.slice(1, 5).every((o) => Number(o) <= 255) && (m[6] === undefined || Number(m[6]) <= 32);
}

/** common.sh get_bastille_epair_count + the loop after it: the lowest bastilleN no jail.conf and no live epair uses. */
function epairFor(s: SimState, name: string): string {
  if (`e0a_${name}`.length < 16) return name;
  const used = new Set<string>();
  for (const j of listJails(s)) {
    const m = /bastille\d+/.exec(jailConfText(s, j));
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

function jailConfText(s: SimState, jail: string): string {
  try {
    return readFileSync(join(jailsDir(s), jail, 'jail.conf'), 'utf8');
  } catch {
    return '';
  }
}

/** generate_vnet_jail_netblock, VNET_JAIL_STANDARD, without static MAC. */
function vnetNetblock(s: SimState, name: string, iface: string): { block: string; jailSide: string } {
  if (s.config.vnetType === 'netgraph') {
    return { block: [`  vnet;`, `  vnet.interface = ng0_${name};`, `  exec.prestart += "jng bridge ${name} ${iface}";`, `  exec.poststop += "jng shutdown ${name}";`].join('\n'), jailSide: `ng0_${name}` };
  }
  const e = epairFor(s, name);
  const block = [
    '  vnet;',
    `  vnet.interface = e0b_${e};`,
    `  exec.prestart += "jib addm ${e} ${iface}";`,
    `  exec.prestart += "ifconfig e0a_${e} description \\"vnet0 host interface for Bastille jail ${name}\\"";`,
    `  exec.poststop += "ifconfig e0a_${e} destroy";`,
  ].join('\n');
  return { block, jailSide: `e0b_${e}` };
}

interface CreateArgs {
  name: string;
  release: string;
  ip: string;
  iface: string | undefined;
  vnet: boolean;
  gateway: string | undefined;
}

function parseCreate(argv: string[]): CreateArgs {
  const o = parseOpts(
    argv,
    { '--bridge': 'B', '--clone': 'C', '--dual': 'D', '--empty': 'E', '--gateway': 'g', '-g': 'g', '--linux': 'L', '--static-mac': 'M', '--nameserver': 'n', '-n': 'n', '--no-boot': 'no-boot', '--no-validate': 'no-validate', '--no-ip': 'no-ip', '--passthrough': 'P', '--priority': 'p', '-p': 'p', '--thick': 'T', '--tags': 'tags', '--vnet': 'V', '--vlan': 'v', '-v': 'v', '--debug': 'x', '--zfs-opts': 'Z', '-Z': 'Z' },
    'BCDELMPTVx',
    ['g', 'n', 'p', 'tags', 'v', 'Z'],
  );
  if (o.flags.has('help')) subUsage(USAGE_LINE, CREATE_OPTS);
  const gateway = o.values.get('g');
  if (gateway !== undefined && gateway !== '' && !validIp(gateway)) fail(`[ERROR]: Not a valid gateway: ${gateway}\n`);
  const [name = '', release = '', ip = '', iface] = o.rest;
  info(`\nCreating jail: ${name}...`);
  if (o.rest.length > 4 || o.rest.length < 3) subUsage(USAGE_LINE, CREATE_OPTS);
  return { name, release, ip, iface, vnet: o.flags.has('V') || o.flags.has('B') || o.flags.has('P'), gateway: gateway || undefined };
}

/** validate_name, the release filter + validate_release, validate_ip, validate_netif, validate_netconf. */
function validate(s: SimState, a: CreateArgs): string {
  if (listJails(s).includes(a.name)) fail(`[ERROR]: Jail already exists: ${a.name}\n`);
  const sanity = a.name.replace(/[^a-zA-Z0-9_-]/g, '');
  if (/^[-_]/.test(sanity)) fail('[ERROR]: Jail names may not begin with (-|_) characters!\n');
  if (a.vnet && /[-_]/.test(a.name)) fail('[ERROR]: VNET jail names may not contain (-|_) characters.\n');
  if (a.name !== sanity) fail('[ERROR]: Jail names may not contain special characters!\n');
  if (/^[0-9]+$/.test(a.name)) fail('[ERROR]: Jail names may not contain only digits.\n');
  if (!/^([1-9][0-9]?)\.[0-9](-RELEASE|-RELEASE-i386|-RC[1-9]|-BETA[1-9]|-STABLE|-CURRENT)$/i.test(a.release)) {
    process.stderr.write(`Unknown release: ${a.release}\n`);
    subUsage(USAGE_LINE, CREATE_OPTS);
  }
  const relDir = join(s.prefix, 'releases', a.release.toUpperCase());
  if (!existsSync(relDir)) fail("[ERROR]: Release must be bootstrapped first.\nSee 'bastille bootstrap'.\n");
  if (!validIp(a.ip)) fail(`[ERROR]: Invalid IP: ${a.ip}\n`);
  if (a.iface !== undefined && s.interfaces[a.iface] === undefined) fail(`[ERROR]: Invalid interface: ${a.iface}\n`);
  if (a.vnet && a.iface === undefined) fail('[ERROR]: Network interface not set.\n');
  return relDir;
}

/** create_jail up to settings.conf: directories or datasets, thin layout, fstab, jail.conf. */
function makeJail(s: SimState, a: CreateArgs, relDir: string): void {
  const jdir = join(jailsDir(s), a.name);
  const root = join(jdir, 'root');
  mkdirSync(root, { recursive: true });
  if (s.config.zfs !== null) {
    const ds = `${s.config.zfs.pool}/${s.config.zfs.prefix}/jails/${a.name}`;
    s.datasets.push(ds, `${ds}/root`);
    s.mounts.push({ from: ds, on: jdir, type: 'zfs', opts: 'rw,noatime,nfsv4acls' }, { from: `${ds}/root`, on: root, type: 'zfs', opts: 'rw,noatime,nfsv4acls' });
  }
  mkdirSync(join(root, '.bastille'));
  mkdirSync(join(root, '.template'));
  mkdirSync(join(root, 'usr', 'local'), { recursive: true });
  const fstab = join(jdir, 'fstab');
  writeFileSync(fstab, `${relDir} ${root}/.bastille nullfs ro 0 0\n`);
  for (const link of [...LINK_LIST, ...HOST_COMPAT_LINKS]) symlinkSync(`/.bastille/${link}`, join(root, link));
  for (const f of FILE_LIST) if (existsSync(join(relDir, f))) cpSync(join(relDir, f), join(root, f), { recursive: true, preserveTimestamps: true });
  mkdirSync(join(root, 'home'), { recursive: true });
  writeFileSync(join(root, 'etc', 'fstab'), '');
  let netblock = `  ip4.addr = ${a.iface ?? 'bastille0'}|${a.ip};\n  ip6 = disable;`;
  let jailSide: string | undefined;
  if (a.vnet) ({ block: netblock, jailSide } = vnetNetblock(s, a.name, a.iface as string));
  writeFileSync(
    join(jdir, 'jail.conf'),
    `${a.name} {\n  enforce_statfs = 2;\n  devfs_ruleset = ${a.vnet ? 13 : 4};\n  exec.clean;\n  exec.consolelog = /var/log/bastille/${a.name}_console.log;\n  exec.start = '/bin/sh /etc/rc';\n  exec.stop = '/bin/sh /etc/rc.shutdown';\n  host.hostname = ${a.name};\n  mount.devfs;\n  mount.fstab = ${fstab};\n  path = ${root};\n  securelevel = 2;\n  osrelease = "${a.release}";\n\n${netblock}\n}\n`,
  );
  chmodSync(jdir, 0o700);
  writeFileSync(join(jdir, 'settings.conf'), 'boot="on"\ndepend=""\npriority="99"\n');
  if (jailSide !== undefined) {
    // the vnet template: `bastille template NAME default/vnet --arg INTERFACE=<jail side> --arg GATEWAY=…`
    const gw = a.gateway ?? s.config.hostGateway;
    writeFileSync(join(root, 'etc', 'rc.conf'), `ifconfig_${jailSide.replace(/-/g, '_')}_name="vnet0"\nifconfig_vnet0="inet ${a.ip}"\ndefaultrouter="${gw}"\n`, { flag: 'a' });
  }
}

export function runCreate(argv: string[]): void {
  const a = parseCreate(argv);
  withState((s) => {
    const relDir = validate(s, a);
    info(`\nValid IP: ${a.ip}`);
    makeJail(s, a, relDir);
    startOne(s, a.name);
    if (s.running[a.name] === undefined) {
      // create.sh: `bastille destroy -afy "${NAME}"` then error_exit
      destroyJail(s, a.name, { auto: true, yes: true });
      fail(`[ERROR]: Failed to create jail: ${a.name}\n`);
    }
    info(`\n[${a.name}]:\nApplying template: default/thin...`);
    removeJail(s, a.name); // bastille restart NAME
    startOne(s, a.name);
  });
}
