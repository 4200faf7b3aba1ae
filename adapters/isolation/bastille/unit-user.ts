/**
 * The unprivileged unit user inside a jail: created with `jexec NAME pw`
 * (group first, when absent) and read back from the jail's /etc/passwd as
 * the host sees it, which is also where inspect() and writeFile() take its
 * uid and gid from.
 */
import { BastilleError } from './bastille-error.js';
import type { Tool } from './command-runner.js';
import type { Jails } from './jails.js';
import type { UnitUser } from './options.js';
import { findPasswdEntry, type PasswdEntry } from './parse.js';

/** The unit user's entry in the jail's /etc/passwd; undefined before it is created. */
export function unitUserEntry(jails: Jails, jail: string, user: UnitUser): PasswdEntry | undefined {
  return findPasswdEntry(jails.readFile(jail, 'root', 'etc', 'passwd'), user.name);
}

/** Create the unit user (and its group) in the jail unless it is there; afterwards it must be, with its uid. */
export async function ensureUnitUser(tool: Tool, jails: Jails, jail: string, user: UnitUser, home: string): Promise<void> {
  if (unitUserEntry(jails, jail, user) !== undefined) return;
  const group = jails.readFile(jail, 'root', 'etc', 'group');
  if (!group.split('\n').some((l) => l.split(':')[0] === user.name)) {
    await tool('jexec', [jail, 'pw', 'groupadd', user.name, '-g', String(user.gid)], `jexec ${jail} pw groupadd`);
  }
  await tool('jexec', [jail, 'pw', 'useradd', user.name, '-u', String(user.uid), '-g', user.name, '-m', '-d', home, '-s', '/bin/sh', '-c', 'Holonet unit'], `jexec ${jail} pw useradd`);
  const e = unitUserEntry(jails, jail, user);
  if (e === undefined || e.uid !== user.uid) throw new BastilleError('state', `jexec ${jail} pw useradd`, `user ${user.name} (uid ${user.uid}) is not in the jail's /etc/passwd afterwards`);
}
