/**
 * What the adapter records about a unit, in `${stateDir}/units/<name>/unit.json`
 * (root, 0600, written atomically): the spec it was created with, the unit
 * user, the network slot and the init process (pid + kernel start time, so a
 * recycled pid is never mistaken for the init). Recovery after an agent
 * restart reads it back and verifies every claim against the system.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UnitLimits, UnitNetwork, UnitSpec } from '../../../bus-schemas/units/port.js';
import { UNIT_NAME_PATTERN } from '../../../bus-schemas/units/port.js';
import { errnoOf } from './isolation-error.js';

export interface UnitState {
  v: 1;
  name: string;
  role: UnitSpec['role'];
  network: UnitNetwork;
  limits: UnitLimits;
  slot: number;
  uid: number;
  gid: number;
  /** index of the unit's /30 in the egress pool (egress only) */
  subnetIndex?: number;
  /** host-namespace pid of the unit init and its start time (clock ticks since boot, /proc/<pid>/stat field 22) */
  initPid?: number;
  initStart?: number;
  /** host pid and start time of `unshare`, the init's parent outside the unit (reaps the init, then exits) */
  launcherPid?: number;
  launcherStart?: number;
}

export const STATE_FILE = 'unit.json';

export function unitDir(stateDir: string, name: string): string {
  return join(stateDir, 'units', name);
}

export async function readState(stateDir: string, name: string): Promise<UnitState | undefined> {
  let text: string;
  try {
    text = await readFile(join(unitDir(stateDir, name), STATE_FILE), 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return undefined;
    throw e;
  }
  try {
    const s = JSON.parse(text) as UnitState;
    if (s.v !== 1 || s.name !== name || !Number.isInteger(s.uid) || !Number.isInteger(s.slot)) return undefined;
    return s;
  } catch {
    return undefined;
  }
}

export async function writeState(stateDir: string, state: UnitState): Promise<void> {
  const dir = unitDir(stateDir, state.name);
  const tmp = join(dir, `.${STATE_FILE}.${randomBytes(6).toString('hex')}`);
  await writeFile(tmp, `${JSON.stringify(state)}\n`, { mode: 0o600, flag: 'wx' });
  await rename(tmp, join(dir, STATE_FILE));
}

/** Names of the units recorded under the state dir (directories with a valid name). */
export async function listUnitDirs(stateDir: string): Promise<string[]> {
  try {
    const entries = await readdir(join(stateDir, 'units'), { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && UNIT_NAME_PATTERN.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw e;
  }
}

/** Start time of a process (field 22 of /proc/<pid>/stat), undefined when it does not exist or is a zombie. */
export async function processStart(pid: number): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and parentheses: fields resume after the last ')'
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
  const start = Number(rest[19]);
  return Number.isFinite(start) ? start : undefined;
}
