/**
 * Installs the simulated FreeBSD tools into a fresh temp directory:
 * `bin/` with executables named bastille, rctl, jls, jexec, netstat, pkill,
 * pgrep and ps (symlinks to the compiled `#!/usr/bin/env node` scripts; jexec
 * is a small sh front so that, as with the real jexec's execvp, the pid that
 * runs the command is the pid that was recorded), a Bastille prefix with one
 * bootstrapped release, and the state file the tools share.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STATE_ENV, type SimState } from './state.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const SIM_RELEASE = '14.2-RELEASE';

export interface Sim {
  dir: string;
  binDir: string;
  prefix: string;
  stateFile: string;
  /** environment for the CommandRunner: the state file */
  env: Record<string, string>;
  state(): SimState;
  update(fn: (s: SimState) => void): void;
  cleanup(): void;
}

const JEXEC_SH = (prep: string): string => `#!/bin/sh
# Simulated jexec(8): ${prep} validates like jexec.c and records this shell's pid ($$),
# then this shell execs the command chrooted to the jail root, keeping the pid.
out=$("${process.execPath}" "${prep}" "$$" "$@") || exit $?
[ "$(printf '%s\\n' "$out" | sed -n 1p)" = RUN ] || exit 0
line() { printf '%s\\n' "$out" | sed -n "$1p"; }
root=$(line 2); ids=$(line 3); user=$(line 4); home=$(line 5); shell=$(line 6); nshift=$(line 7)
shift "$nshift"
exec env -u ${STATE_ENV} USER="$user" HOME="$home" SHELL="$shell" unshare --mount --propagation private /bin/sh -c '
  root=$1; ids=$2; shift 2
  for d in bin sbin lib lib32 lib64 libx32 usr; do
    if [ -e "/$d" ] && [ -d "$root/$d" ]; then mount -o bind,ro "/$d" "$root/$d" || exit 71; fi
  done
  mount -o bind /dev "$root/dev" || exit 71
  exec chroot --userspec="$ids" "$root" "$@"' sim-jexec "$root" "$ids" "$@"
`;

export function installSim(opts: { interfaces?: string[] } = {}): Sim {
  const dir = mkdtempSync(join(tmpdir(), 'holonet-bsdsim-'));
  const binDir = join(dir, 'bin');
  const prefix = join(dir, 'bastille');
  mkdirSync(binDir);
  mkdirSync(join(prefix, 'jails'), { recursive: true, mode: 0o750 });
  const rel = join(prefix, 'releases', SIM_RELEASE);
  for (const d of ['bin', 'sbin', 'lib', 'lib64', 'usr', 'dev', 'etc', 'home', 'root', 'var']) mkdirSync(join(rel, d), { recursive: true });
  mkdirSync(join(rel, 'tmp'), { mode: 0o1777 });
  chmodSync(join(rel, 'tmp'), 0o1777);
  writeFileSync(join(rel, 'etc', 'passwd'), 'root:*:0:0:Charlie &:/root:/bin/sh\ndaemon:*:1:1:Owner of many system processes:/root:/usr/sbin/nologin\n');
  writeFileSync(join(rel, 'etc', 'group'), 'wheel:*:0:root\ndaemon:*:1:\n');
  writeFileSync(join(rel, 'etc', 'rc.conf'), '');
  for (const t of ['bastille', 'rctl', 'jls', 'netstat', 'pkill', 'pgrep', 'ps']) {
    const target = join(HERE, `bin-${t}.js`);
    chmodSync(target, 0o755);
    symlinkSync(target, join(binDir, t));
  }
  writeFileSync(join(binDir, 'jexec'), JEXEC_SH(join(HERE, 'bin-jexec-prep.js')), { mode: 0o755 });
  const stateFile = join(dir, 'state.json');
  const interfaces: SimState['interfaces'] = {};
  let index = 1;
  for (const i of opts.interfaces ?? ['em0', 'lo0', 'bastille0']) interfaces[i] = { rx: 0, tx: 0, index: index++ };
  const initial: SimState = { prefix, nextJid: 1, nextIfIndex: index, interfaces, running: {}, rctl: [], faults: { startFails: [], destroyLeaves: [] }, calls: [] };
  writeFileSync(stateFile, JSON.stringify(initial));
  const sim: Sim = {
    dir,
    binDir,
    prefix,
    stateFile,
    env: { [STATE_ENV]: stateFile },
    state: () => JSON.parse(readFileSync(stateFile, 'utf8')) as SimState,
    update: (fn) => {
      const s = sim.state();
      fn(s);
      writeFileSync(stateFile, JSON.stringify(s));
    },
    cleanup: () => {
      const s = sim.state();
      for (const j of Object.values(s.running)) {
        for (const p of j.procs) {
          try {
            process.kill(p.pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return sim;
}
