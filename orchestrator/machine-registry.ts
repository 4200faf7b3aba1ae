/**
 * The per-machine bootstrap state machine (DESIGN §3), deterministic:
 * `applyMachineEvent(record, event, now) → record`. The live service and the
 * rebuild from the ledger run the same function over the same events (the
 * rebuild takes `now` from each entry's `at`), so they produce the same rows.
 *
 *   UNKNOWN ─hello─► CHALLENGED ─attest─► ATTESTED ─(approval | pre-approval)─► ENROLLED
 *        any step may be refused ─► REFUSED (code + reason); a new hello starts again
 *
 * - An approval may arrive in any state before ENROLLED; it is kept and used
 *   when the machine is (or becomes) ATTESTED, if it has not expired by then.
 * - ENROLLED is final for the enrollment: a re-bootstrap of the same machine
 *   (same machine key, same EK) is challenged and attested again but stays
 *   ENROLLED with the same certificate; MACHINE_ENROLLED happens exactly once.
 * - A refusal of an ENROLLED machine, or "not approved yet" of an ATTESTED
 *   one, is recorded but does not change the state.
 */
import { HolonError } from '../bus-schemas/errors.js';
import type { PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { BOOTSTRAP_CODES } from '../bus-schemas/bootstrap/bootstrap-error.js';
import type { HolonCertificateV1 } from '../bus-schemas/v1/holon-certificate.js';
import type { MachineEvent, PlacementFacts } from './machine-events.js';

import { REGISTRY_STATES } from '../bus-schemas/v1/machine-list.js';

export { REGISTRY_STATES };
export type RegistryState = (typeof REGISTRY_STATES)[number];

export interface MachineApprovalRef {
  source: 'principal' | 'policy';
  digest: string;
  nonce: string | null;
  machineClass: string | null;
  expiresAt: number;
}

export interface MachineRecord {
  machineId: PublicKeyIdV1;
  state: RegistryState;
  /** when the state last changed */
  since: number;
  /** when anything last changed */
  updatedAt: number;
  softwareOnly: boolean | null;
  ekHash: string | null;
  ekTrustedBy: 'certificate' | 'allow-list' | null;
  natsUserKey: string | null;
  helloDigest: string | null;
  /** digest of the last accepted attestation: a retried attest is recognised by it */
  attestDigest: string | null;
  pcr: { bank: string; pcrs: number[]; values: string[] } | null;
  refusal: { code: string; reason: string; at: number } | null;
  approval: MachineApprovalRef | null;
  certificate: HolonCertificateV1 | null;
  /** from the last hello; null for records made before placement facts were recorded */
  placement?: PlacementFacts | null;
}

/** An event that the state machine does not allow here: a bug, or a ledger that was not written by us. */
export class RegistryTransitionError extends HolonError {
  static readonly CODE = 'HOLON_E_REGISTRY_TRANSITION';
  readonly machineId: string;
  readonly state: RegistryState;
  readonly event: string;
  constructor(machineId: string, state: RegistryState, event: string, why: string) {
    super(RegistryTransitionError.CODE, `registry: ${event} is not allowed for ${machineId} in state ${state}: ${why}`);
    this.machineId = machineId;
    this.state = state;
    this.event = event;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, machine_id: this.machineId, state: this.state, event: this.event };
  }
}

export function unknownMachine(machineId: PublicKeyIdV1, now: number): MachineRecord {
  return {
    machineId,
    state: 'UNKNOWN',
    since: now,
    updatedAt: now,
    softwareOnly: null,
    ekHash: null,
    ekTrustedBy: null,
    natsUserKey: null,
    helloDigest: null,
    attestDigest: null,
    pcr: null,
    refusal: null,
    approval: null,
    certificate: null,
  };
}

function moveTo(r: MachineRecord, state: RegistryState, now: number): MachineRecord {
  return { ...r, state, since: r.state === state ? r.since : now, updatedAt: now };
}

/** Apply one event. Pure: the input record is not changed. */
export function applyMachineEvent(record: MachineRecord | undefined, event: MachineEvent, now: number): MachineRecord {
  const r = record ?? unknownMachine(event.machine_id, now);
  const bad = (why: string): never => {
    throw new RegistryTransitionError(r.machineId, r.state, event.kind, why);
  };
  if (event.machine_id !== r.machineId) bad(`event is for ${event.machine_id}`);
  switch (event.kind) {
    case 'MACHINE_CHALLENGED': {
      if (r.state === 'ENROLLED') {
        if (r.softwareOnly !== event.software_only || (r.ekHash ?? undefined) !== event.ek_hash) bad('an enrolled machine came back with another TPM');
      }
      const next = moveTo(r, r.state === 'ENROLLED' ? 'ENROLLED' : 'CHALLENGED', now);
      return {
        ...next,
        softwareOnly: event.software_only,
        ekHash: event.ek_hash ?? null,
        ekTrustedBy: event.ek_trusted_by ?? null,
        natsUserKey: event.nats_user_key,
        helloDigest: event.hello_digest,
        placement: event.placement ?? r.placement ?? null,
        refusal: null,
      };
    }
    case 'MACHINE_ATTESTED': {
      if (r.state !== 'CHALLENGED' && r.state !== 'ENROLLED') bad('only a challenged (or re-bootstrapping enrolled) machine attests');
      const next = moveTo(r, r.state === 'ENROLLED' ? 'ENROLLED' : 'ATTESTED', now);
      return { ...next, attestDigest: event.attest_digest, pcr: event.pcr ? { bank: event.pcr.bank, pcrs: [...event.pcr.pcrs], values: [...event.pcr.values] } : null };
    }
    case 'MACHINE_REFUSED': {
      const keeps = r.state === 'ENROLLED' || (r.state === 'ATTESTED' && event.code === BOOTSTRAP_CODES.notApproved);
      const next = moveTo(r, keeps ? r.state : 'REFUSED', now);
      return { ...next, refusal: { code: event.code, reason: event.reason, at: now } };
    }
    case 'MACHINE_APPROVED': {
      if (r.state === 'ENROLLED') bad('already enrolled');
      return {
        ...r,
        updatedAt: now,
        approval: {
          source: event.source,
          digest: event.approval_digest,
          nonce: event.approval_nonce ?? null,
          machineClass: event.machine_class ?? null,
          expiresAt: event.expires_at,
        },
      };
    }
    case 'MACHINE_ENROLLED': {
      if (r.state !== 'ATTESTED') bad('only an attested machine enrolls, and only once');
      if (r.approval === null) return bad('no approval');
      if (r.approval.expiresAt < now) bad('the approval has expired');
      if (event.certificate.serial !== event.serial) bad('serial does not match the certificate');
      return { ...moveTo(r, 'ENROLLED', now), refusal: null, certificate: event.certificate };
    }
  }
}

/** Replay events in order from nothing: the rebuild and the determinism tests use this. */
export function replayMachineEvents(events: Iterable<{ event: MachineEvent; at: number }>): Map<PublicKeyIdV1, MachineRecord> {
  const out = new Map<PublicKeyIdV1, MachineRecord>();
  for (const { event, at } of events) out.set(event.machine_id, applyMachineEvent(out.get(event.machine_id), event, at));
  return out;
}

/** True when an attested machine holds an approval that is still valid: it enrolls now. */
export function enrollmentDue(r: MachineRecord, now: number): boolean {
  return r.state === 'ATTESTED' && r.approval !== null && r.approval.expiresAt >= now;
}
