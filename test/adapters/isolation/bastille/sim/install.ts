/**
 * Installs the simulated FreeBSD tools into a fresh temp directory:
 * `bin/` with executables named bastille, rctl, jls, jexec, netstat, pkill,
 * pgrep, ps, mount, umount, ifconfig and zfs (symlinks to the compiled
 * `#!/usr/bin/env node` scripts; jexec is a small sh front so that, as with the
 * real jexec's execvp, the pid that runs the command is the pid that was
 * recorded), a Bastille prefix with one bootstrapped release laid out as a
 * FreeBSD base (the directories a thin jail links to), Bastille's
 * bastille.conf, and the state file the tools share.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST_COMPAT_LINKS } from './bastille-create.js';
import { livePids, STATE_ENV, type SimConfig, type SimState } from './state.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const SIM_RELEASE = '14.2-RELEASE';
const TOOLS = ['bastille', 'rctl', 'jls', 'netstat', 'pkill', 'pgrep', 'ps', 'mount', 'umount', 'ifconfig', 'zfs'];
/** The base system's directories a thin jail links to (create.sh LINK_LIST) and the ones it copies. */
const RELEASE_DIRS = ['bin', 'boot', 'lib', 'libexec', 'rescue', 'sbin', 'usr/bin', 'usr/include', 'usr/lib', 'usr/lib32', 'usr/libdata', 'usr/libexec', 'usr/sbin', 'usr/share', 'usr/src', 'usr/obj', 'usr/tests', 'dev', 'etc', 'media', 'mnt', 'net', 'proc', 'root', 'var'];

export interface Sim {
  dir: string;
  binDir: string;
  prefix: string;
  stateFile: string;
  /** the host's bastille.conf (the adapter's `bastilleConfig` option) */
  confPath: string;
  /** environment for the CommandRunner: the state file */
  env: Record<string, string>;
  state(): SimState;
  update(fn: (s: SimState) => void): void;
  /** change what bastille.conf says (the file and what the simulated bastille reads) */
  configure(c: Partial<SimConfig>): void;
  cleanup(): void;
}

/**
 * The shell half of jexec: the prep script validates like jexec and records this shell's pid ($$), then this shell
 * execs the command chrooted to the jail root in a private mount namespace, keeping the pid. There the thin jail's
 * release is mounted read-only on .bastille (its fstab's nullfs), and the Linux host's binaries over the release's
 * directories (read-only too), so that /bin, /usr/bin … reach them through the jail's symlinks as on FreeBSD.
 */
const JEXEC_SH = (prep: string, mount: string): string => `#!/bin/sh
out=$("${process.execPath}" "${prep}" "$$" "$@") || exit $?
[ "$(printf '%s\\n' "$out" | sed -n 1p)" = RUN ] || exit 0
line() { printf '%s\\n' "$out" | sed -n "$1p"; }
root=$(line 2); rel=$(line 3); ids=$(line 4); user=$(line 5); home=$(line 6); shell=$(line 7); cwd=$(line 8); nshift=$(line 9)
shift "$nshift"
exec env -u ${STATE_ENV} USER="$user" HOME="$home" SHELL="$shell" unshare --mount --propagation private /bin/sh -c '
  root=$1; rel=$2; ids=$3; cwd=$4; shift 4
  if [ "$rel" != - ]; then
    ${mount} -o bind,ro "$rel" "$root/.bastille" || exit 71
    for d in bin sbin lib lib64 usr/bin usr/sbin usr/lib usr/libexec usr/share; do
      if [ -d "/$d" ] && [ -d "$root/.bastille/$d" ]; then ${mount} -o bind,ro "/$d" "$root/.bastille/$d" || exit 71; fi
    done
  fi
  ${mount} -o bind /dev "$root/dev" || exit 71
  if [ -n "$cwd" ]; then exec chroot --userspec="$ids" "$root" /bin/sh -c "cd \\"\\$0\\" && exec \\"\\$@\\"" "$cwd" "$@"; fi
  exec chroot --userspec="$ids" "$root" "$@"' sim-jexec "$root" "$rel" "$ids" "$cwd" "$@"
`;

/** bastille.conf as bastille.conf.sample lays it out, with this host's values. */
function bastilleConf(prefix: string, c: SimConfig): string {
  return [
    `bastille_prefix="${prefix}"                                 ## default: "/usr/local/bastille"`,
    'bastille_jailsdir="${bastille_prefix}/jails"                          ## default: "${bastille_prefix}/jails"',
    'bastille_releasesdir="${bastille_prefix}/releases"                    ## default: "${bastille_prefix}/releases"',
    `bastille_zfs_enable="${c.zfs === null ? 'NO' : 'YES'}"                                              ## default: "NO"`,
    `bastille_zfs_zpool="${c.zfs?.pool ?? ''}"                                                 ## default: ""`,
    `bastille_zfs_prefix="${c.zfs?.prefix ?? 'bastille'}"                                          ## default: "bastille"`,
    `bastille_network_vnet_type="${c.vnetType}"                                ## default: "if_bridge"`,
    'bastille_network_loopback="bastille0"                                 ## default: "bastille0"',
    'bastille_network_gateway=""                                           ## default: ""',
    '',
  ].join('\n');
}

export interface SimOptions {
  interfaces?: string[];
  config?: Partial<SimConfig>;
}

export function installSim(opts: SimOptions = {}): Sim {
  const dir = mkdtempSync(join(tmpdir(), 'holonet-bsdsim-'));
  const binDir = join(dir, 'bin');
  const prefix = join(dir, 'bastille');
  mkdirSync(binDir);
  mkdirSync(join(prefix, 'jails'), { recursive: true, mode: 0o750 });
  const rel = join(prefix, 'releases', SIM_RELEASE);
  for (const d of [...RELEASE_DIRS, ...HOST_COMPAT_LINKS, 'home']) mkdirSync(join(rel, d), { recursive: true });
  mkdirSync(join(rel, 'tmp'), { mode: 0o1777 });
  chmodSync(join(rel, 'tmp'), 0o1777);
  writeFileSync(join(rel, 'etc', 'passwd'), 'root:*:0:0:Charlie &:/root:/bin/sh\ndaemon:*:1:1:Owner of many system processes:/root:/usr/sbin/nologin\n');
  writeFileSync(join(rel, 'etc', 'group'), 'wheel:*:0:root\ndaemon:*:1:\n');
  writeFileSync(join(rel, 'etc', 'rc.conf'), '');
  writeFileSync(join(rel, 'COPYRIGHT'), 'Copyright (c) The FreeBSD Project (simulated release)\n');
  for (const t of TOOLS) {
    const target = join(HERE, `bin-${t}.js`);
    chmodSync(target, 0o755);
    symlinkSync(target, join(binDir, t));
  }
  // the host's mount(8), by path: bin/ has the simulated one
  const hostMount = ['/usr/bin/mount', '/bin/mount'].find((m) => existsSync(m)) ?? 'mount';
  writeFileSync(join(binDir, 'jexec'), JEXEC_SH(join(HERE, 'bin-jexec-prep.js'), hostMount), { mode: 0o755 });
  const stateFile = join(dir, 'state.json');
  const confPath = join(dir, 'bastille.conf');
  const config: SimConfig = { zfs: null, vnetType: 'if_bridge', hostGateway: '192.168.1.1', ...opts.config };
  writeFileSync(confPath, bastilleConf(prefix, config));
  const interfaces: SimState['interfaces'] = {};
  let index = 1;
  for (const i of opts.interfaces ?? ['em0', 'lo0', 'bastille0']) interfaces[i] = { rx: 0, tx: 0, index: index++ };
  const initial: SimState = { prefix, confPath, config, nextJid: 1, nextIfIndex: index, interfaces, running: {}, mounts: [], datasets: [], rctl: [], racct: {}, daemons: [], faults: { startFails: [], destroyLeaves: [] }, calls: [] };
  writeFileSync(stateFile, JSON.stringify(initial));
  const sim: Sim = {
    dir,
    binDir,
    prefix,
    stateFile,
    confPath,
    env: { [STATE_ENV]: stateFile },
    state: () => {
      const s = JSON.parse(readFileSync(stateFile, 'utf8')) as SimState;
      const log = existsSync(`${stateFile}.calls`) ? readFileSync(`${stateFile}.calls`, 'utf8') : '';
      s.calls = log.split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]);
      return s;
    },
    update: (fn) => {
      // under the tools' lock, so that a tool running meanwhile (a background jexec) loses nothing
      const lock = `${stateFile}.lock`;
      for (let i = 0; i < 1000; i++) {
        try {
          mkdirSync(lock);
          break;
        } catch {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        }
      }
      try {
        const s = sim.state();
        fn(s);
        writeFileSync(stateFile, JSON.stringify({ ...s, calls: [] }));
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
    },
    configure: (c) => {
      sim.update((s) => Object.assign(s.config, c));
      writeFileSync(confPath, bastilleConf(prefix, sim.state().config));
    },
    cleanup: () => {
      const s = sim.state();
      for (const pid of livePids([...s.daemons, ...Object.values(s.running).flatMap((j) => j.procs)])) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return sim;
}
