/**
 * `bastille destroy` as destroy.sh of BastilleBSD/bastille 1.4.4 runs it.
 *
 * Before any jail lookup the target goes through a `case` of release
 * patterns; a match re-validates the name with a grep into NAME_VERIFY and
 * calls destroy_release, whose first step is `usage` (exit 1) when NAME_VERIFY
 * is empty — so a jail named like `x-release` or `app-rc1` can never be
 * destroyed. Otherwise `set_target TARGET reverse` and destroy_jail for each:
 * a running jail without -a is refused ("Jail is running.", error_continue,
 * exit 0); with -a it is stopped by `bastille stop`; a jail with anything
 * mounted below `<jail>/root/` is refused ("Jail has mounted filesystems",
 * error_continue, exit 0); on ZFS its dataset is destroyed recursively
 * (a busy dataset: error_continue, exit 0); then the directory is removed.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stopOne } from './bastille-run.js';
import { info, parseOpts, resolveTargets, subUsage, wordIn } from './bastille-sim.js';
import { fail, jailsDir, listJails, withState, type SimState } from './state.js';

const USAGE = (): never => subUsage('Usage: bastille destroy [option(s)] JAIL\n                                    RELEASE', '    -a | --auto         Auto mode. Start/stop jail(s) if required.\n    -y | --yes          Do not prompt. Assume always yes.');

/** destroy.sh's case arms in order: the target pattern, and the grep that yields NAME_VERIFY (undefined → the name as is). */
const RELEASE_ARMS: readonly [RegExp, RegExp | undefined][] = [
  [/^.*-(CURRENT|CURRENT-I386|CURRENT-i386|current)$/, /^[1-9]{2}\.[0-9](-CURRENT|-CURRENT-i386)$/i],
  [/^.*-(RELEASE|RELEASE-I386|RELEASE-i386|release|RC[1-9]|rc[1-9]|BETA[1-9])$/, /^[0-9]{1,2}\.[0-9](-RELEASE|-RELEASE-i386|-RC[1-9]|-BETA[1-9])$/i],
  [/^.*-(stable-LAST|STABLE-last|stable-last|STABLE-LAST)$/, /^[1-9]{2}-stable-last$/i],
  [/^.*-(stable-build|STABLE-BUILD)-[0-9].*$/, /[0-9]{1,2}-stable-build-[0-9]{1,3}$/i],
  [/^.*-(stable-build-latest|stable-BUILD-LATEST|STABLE-BUILD-LATEST)$/, /[0-9]{1,2}-stable-build-latest$/i],
  [/^(current|CURRENT)-(build|BUILD)-[0-9].*$/, /current-build-[0-9]{1,3}/i],
  [/^(current-build-latest|current-BUILD-LATEST|CURRENT-BUILD-LATEST)$/, /current-build-latest$/i],
  [/^[2-4]\.[0-9].*$/, /^[0-9.]+$/],
  [/^(Ubuntu_1804|Ubuntu_2004|Ubuntu_2204|UBUNTU_1804|UBUNTU_2004|UBUNTU_2204|Debian10|Debian11|Debian12|DEBIAN10|DEBIAN11|DEBIAN12)$/, undefined],
];

/** destroy_release: refuses a base that jails still use (error_notify, exit 0), else removes it. */
function destroyRelease(s: SimState, release: string): void {
  info(`\nAttempting to destroy release: ${release}`);
  const users = listJails(s).filter((j) => {
    try {
      return wordIn(release, readFileSync(join(jailsDir(s), j, 'fstab'), 'utf8'));
    } catch {
      return false;
    }
  });
  for (const j of users) process.stderr.write(`[ERROR]: (${j}) depends on ${release} base.\n`);
  const dir = join(s.prefix, 'releases', release);
  if (!existsSync(dir)) fail('[ERROR]: Release base not found.\n');
  if (users.length > 0) {
    process.stderr.write('[ERROR]: Cannot destroy base with child containers.\n');
    return;
  }
  rmSync(dir, { recursive: true, force: true });
}

function confirm(jail: string): void {
  process.stderr.write(`\nAttempting to destroy jail: ${jail}\n\nAre you sure you want to continue? [y|n]:`);
  let answer = '';
  try {
    answer = readFileSync(0, 'utf8').split('\n')[0] ?? '';
  } catch {
    answer = '';
  }
  if (/^(y|yes)$/i.test(answer)) return;
  if (/^(n|no)$/i.test(answer)) fail('[ERROR]: Cancelled by user.\n');
  fail("[ERROR]: Invalid input. Please answer 'y' or 'n'.\n");
}

/** destroy_jail of one jail (also what create.sh's `bastille destroy -afy NAME` does). */
export function destroyJail(s: SimState, jail: string, o: { auto: boolean; yes: boolean }): void {
  if (s.running[jail] !== undefined) {
    if (!o.auto) {
      info(`\n[${jail}]:`);
      process.stderr.write('Jail is running.\nUse [-a|--auto] to auto-stop the jail.\n');
      return;
    }
    stopOne(s, jail);
  }
  info(`\n[${jail}]:`);
  if (!o.yes) confirm(jail);
  const base = join(jailsDir(s), jail);
  if (!existsSync(base)) return;
  const mounted = s.mounts.filter((m) => m.on.includes(`${base}/root/`)).map((m) => m.on);
  if (mounted.length > 0) {
    process.stderr.write(`[ERROR]: Failed to destroy jail: ${jail}\nJail has mounted filesystems:\n${mounted.join('\n')}\n`);
    return;
  }
  info('Destroying jail...');
  if (s.faults.destroyLeaves.includes(jail)) {
    process.stderr.write('[ERROR]: Jail dataset(s) appears to be busy, exiting.\n');
    return;
  }
  if (s.config.zfs !== null) {
    const ds = `${s.config.zfs.pool}/${s.config.zfs.prefix}/jails/${jail}`;
    s.datasets = s.datasets.filter((d) => d !== ds && !d.startsWith(`${ds}/`));
    s.mounts = s.mounts.filter((m) => m.from !== ds && !m.from.startsWith(`${ds}/`));
  }
  rmSync(base, { recursive: true, force: true });
}

export function runDestroy(argv: string[]): void {
  const o = parseOpts(argv, { '--auto': 'a', '--no-cache': 'c', '--force': 'f', '--yes': 'y', '--debug': 'x' }, 'acfyx');
  if (o.flags.has('help') || o.rest.length !== 1) USAGE();
  const target = o.rest[0] as string;
  withState((s) => {
    const arm = RELEASE_ARMS.find(([pattern]) => pattern.test(target));
    if (arm !== undefined) {
      const [, verify] = arm;
      if (verify !== undefined && !verify.test(target)) USAGE(); // destroy_release: NAME_VERIFY empty → usage, exit 1
      destroyRelease(s, target.toUpperCase().replace(/I386$/, 'i386'));
      return;
    }
    if (existsSync(join(s.prefix, 'releases', target))) return destroyRelease(s, target);
    for (const jail of resolveTargets(s, target, true)) destroyJail(s, jail, { auto: o.flags.has('a'), yes: o.flags.has('y') });
  });
}
