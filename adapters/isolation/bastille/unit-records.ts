/**
 * Unit records: `<stateDir>/<unit>.json` (0600, root; the directory 0700) is
 * written before the jail is created and removed after it is destroyed;
 * list() returns these names, so a crash between the two leaves a name the
 * agent's recovery can finish destroying. A jail with a unit's jail name but
 * without that unit's record is somebody else's and is never touched.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UnitLimits, UnitNetwork } from '../../../bus-schemas/units/port.js';
import { BastilleError } from './bastille-error.js';
import { BASTILLE_UNIT_NAME } from './names.js';

export interface UnitRecord {
  unit: string;
  /** the jail's name (names.ts jailNameOf) */
  jail: string;
  network: UnitNetwork;
  limits: UnitLimits;
  ip: string;
  frozen: boolean;
  /** the host side of the epair, as jail.conf names it after create; absent for network=none */
  hostLink?: string;
  /** the highest memoryuse seen by usage(): racct keeps no peak, so this is a sampled maximum */
  memoryPeakBytes?: number;
}

export class UnitRecords {
  constructor(readonly dir: string) {}

  path(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  read(name: string): UnitRecord | undefined {
    let text: string;
    try {
      text = readFileSync(this.path(name), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const r = JSON.parse(text) as UnitRecord;
      if (r.unit !== name || typeof r.jail !== 'string') throw new Error(`record names ${String(r.unit)}/${String(r.jail)}`);
      return r;
    } catch (e) {
      throw new BastilleError('state', `record ${name}`, `${this.path(name)} is unreadable: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Atomically: a temp file renamed over the record. */
  write(r: UnitRecord): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path(r.unit)}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(r)}\n`, { mode: 0o600 });
    renameSync(tmp, this.path(r.unit));
  }

  remove(name: string): void {
    rmSync(this.path(name), { force: true });
  }

  /** The names of every record, sorted. */
  list(): string[] {
    let entries: string[];
    try {
      entries = readdirSync(this.dir);
    } catch {
      return [];
    }
    return entries
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .filter((n) => BASTILLE_UNIT_NAME.test(n))
      .sort();
  }
}
