/**
 * Which enrolled machines are alive (DESIGN §7): the agents' HeartbeatV1 on
 * `evt.<host holon>.heartbeat` (every 10 s by default) and their metering
 * batches both count as a sign of life. A machine not heard from for
 * `unreachableAfterMs` since it was last seen — or since this cell started,
 * for one never heard — is UNREACHABLE: placement skips it, `holonctl
 * machines` says when it was last seen, and its units' usage reads as
 * unknown, not zero. A heartbeat brings it back; the next metering batch
 * carries the totals its units reached meanwhile, so nothing is lost.
 *
 * In memory only, like the usage accounts: it describes the present, and a
 * restarted cell learns it again within one heartbeat interval.
 */
import { HolonError } from '../../bus-schemas/errors.js';
import { convertId, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { parseEvtSubject } from '../../bus-schemas/subjects.js';
import { HeartbeatV1 } from '../../bus-schemas/v1/heartbeat.js';
import { MeteringError } from './metering-service.js';

export const DEFAULT_UNREACHABLE_AFTER_MS = 35_000;

export interface MachineLiveness {
  reachable: boolean;
  /** unix ms of the last heartbeat or batch, null if none since the cell started */
  last_seen: number | null;
}

export class Liveness {
  readonly #seen = new Map<string, number>();
  readonly #startedAt: number;
  readonly #after: number;
  /** heartbeats refused (bad seal, wrong subject, not enrolled) */
  refused = 0;

  constructor(opts: { now: number; unreachableAfterMs?: number }) {
    this.#startedAt = opts.now;
    this.#after = opts.unreachableAfterMs ?? DEFAULT_UNREACHABLE_AFTER_MS;
  }

  /** A sign of life of `machineId` at `at` (a verified heartbeat or metering batch). */
  seen(machineId: string, at: number): void {
    if (at > (this.#seen.get(machineId) ?? 0)) this.#seen.set(machineId, at);
  }

  /** A heartbeat off the bus: verified (seal, own subject, enrolled) before it counts; refusals are counted, never thrown. */
  heartbeat(subject: string, bytes: Uint8Array, enrolled: (id: PublicKeyIdV1) => boolean, now: number): boolean {
    try {
      const hb = HeartbeatV1.decode(bytes);
      HeartbeatV1.verify(hb, hb.machine_id);
      if (parseEvtSubject(subject).holon !== convertId(hb.machine_id, 'holon')) throw new MeteringError(`heartbeat of ${hb.machine_id} on ${subject}`);
      if (!enrolled(hb.machine_id)) throw new MeteringError(`${hb.machine_id} is not enrolled here`);
      this.seen(hb.machine_id, now);
      return true;
    } catch (e) {
      if (!(e instanceof HolonError)) throw e;
      this.refused += 1;
      return false;
    }
  }

  of(machineId: string, now: number): MachineLiveness {
    const last = this.#seen.get(machineId);
    return { reachable: now - Math.max(last ?? 0, this.#startedAt) <= this.#after, last_seen: last ?? null };
  }
}
