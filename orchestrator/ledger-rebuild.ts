/**
 * Rebuild the projections from the ledger (machines, and provisions when a
 * provision store is given): replay every MACHINE_* and provisioning
 * entry this cell sealed, in stream order (each machine's chain in order),
 * through the same state machine the live service runs, with `now` = the
 * entry's time. The result is the same rows the live service wrote; the
 * replay memory (seen quote digests, last TPM clock per AK, used approval
 * nonces) and the certificate serial counter come back too. Open challenge
 * sessions and minted JWTs do not: an agent says hello again, and an
 * enrolled machine's JWT is minted again on its next status request.
 *
 * Provisions go through applyProvisionEvent, the reducer the live service
 * uses. A record still waiting on an agent (PLACED, TEARDOWN) gets its
 * command back in the outbox, sealed again: the agent's steps are idempotent
 * and the message id collapses a command it already has. Certificate serials
 * of holons count toward the serial floor like those of machines.
 */
import { convertId, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { LedgerEntryV1 } from '../bus-schemas/v1/ledger-entry.js';
import { HolonError } from '../bus-schemas/errors.js';
import { isMachineEventKind, parseMachineEvent } from './machine-events.js';
import { applyMachineEvent, type MachineRecord } from './machine-registry.js';
import type { MachineStore, TpmClockRecord } from './machine-store.js';
import type { Signer } from '../bus-schemas/keys.js';
import type { CellIdV1 } from '../bus-schemas/ids.js';
import { applyProvisionEvent, isProvisionEventKind, parseProvisionEvent } from './provisioning/provision-events.js';
import { pendingCommand } from './provisioning/commands.js';
import type { ProvisionRecord, ProvisionStore } from './provisioning/provision-store.js';

export interface RebuildRecord {
  stream_seq: number;
  subject: string;
  data: Uint8Array;
}

export interface RebuildReport {
  entries: number;
  machineEntries: number;
  machines: number;
  /** entries of other writers or kinds, skipped */
  skipped: number;
  maxSerial: number;
  provisionEntries: number;
  provisions: number;
}

/** A MACHINE_* entry sealed by this cell that cannot be replayed: the projection is not rebuilt. */
export class RebuildError extends HolonError {
  static readonly CODE = 'HOLON_E_REBUILD';
  readonly streamSeq: number;
  constructor(streamSeq: number, message: string, options?: { cause?: unknown }) {
    super(RebuildError.CODE, `rebuild: stream seq ${streamSeq}: ${message}`, options);
    this.streamSeq = streamSeq;
  }
}

export async function rebuildFromLedger(
  store: MachineStore,
  records: AsyncIterable<RebuildRecord>,
  opts: { cellKey: PublicKeyIdV1; provisions?: { store: ProvisionStore; cell: { cellId: CellIdV1; signer: Signer }; now: number } },
): Promise<RebuildReport> {
  const provisions = new Map<string, ProvisionRecord>();
  const machines = new Map<PublicKeyIdV1, MachineRecord>();
  const quotes: { digest: string; at: number }[] = [];
  const clocks = new Map<string, TpmClockRecord>();
  const nonces: { nonce: string; expiresAt: number }[] = [];
  const report: RebuildReport = { entries: 0, machineEntries: 0, machines: 0, skipped: 0, maxSerial: 0, provisionEntries: 0, provisions: 0 };
  for await (const r of records) {
    report.entries += 1;
    let entry: LedgerEntryV1;
    try {
      entry = LedgerEntryV1.decode(r.data);
    } catch {
      report.skipped += 1; // not ours to judge: the audit reports malformed entries
      continue;
    }
    if (opts.provisions !== undefined && isProvisionEventKind(entry.kind) && entry.writer_seal.key === opts.cellKey) {
      try {
        LedgerEntryV1.verify(entry, opts.cellKey);
        const event = parseProvisionEvent(entry.kind, entry.body);
        provisions.set(event.request_digest, applyProvisionEvent(provisions.get(event.request_digest), event, entry.at.unix_ms));
        if (event.kind === 'HOLON_PROVISIONED') report.maxSerial = Math.max(report.maxSerial, event.certificate_serial);
        report.provisionEntries += 1;
      } catch (e) {
        throw new RebuildError(r.stream_seq, e instanceof Error ? e.message : String(e), { cause: e });
      }
      continue;
    }
    if (!isMachineEventKind(entry.kind) || entry.writer_seal.key !== opts.cellKey) {
      report.skipped += 1;
      continue;
    }
    try {
      LedgerEntryV1.verify(entry, opts.cellKey);
      const event = parseMachineEvent(entry.kind, entry.body);
      if (entry.owner !== convertId(event.machine_id, 'holon')) throw new Error(`owner ${entry.owner} is not the machine's holon id`);
      const at = entry.at.unix_ms;
      machines.set(event.machine_id, applyMachineEvent(machines.get(event.machine_id), event, at));
      if (event.kind === 'MACHINE_ATTESTED') {
        if (event.quote_digest !== undefined) quotes.push({ digest: event.quote_digest, at });
        if (event.ak_name !== undefined && event.tpm_clock !== undefined) clocks.set(event.ak_name, event.tpm_clock);
      }
      if (event.kind === 'MACHINE_APPROVED' && event.approval_nonce !== undefined) nonces.push({ nonce: event.approval_nonce, expiresAt: event.expires_at });
      if (event.kind === 'MACHINE_ENROLLED') report.maxSerial = Math.max(report.maxSerial, event.serial);
      report.machineEntries += 1;
    } catch (e) {
      throw new RebuildError(r.stream_seq, e instanceof Error ? e.message : String(e), { cause: e });
    }
  }
  store.clear();
  for (const m of machines.values()) store.commit({ machine: m });
  for (const q of quotes) store.commit({ seenQuote: q });
  for (const [akName, clock] of clocks) store.commit({ akClock: { akName, clock } });
  for (const n of nonces) if (!store.isNonceUsed(n.nonce)) store.commit({ usedNonce: n });
  store.raiseSerial(report.maxSerial);
  report.machines = machines.size;
  if (opts.provisions !== undefined) {
    const { store: pstore, cell, now } = opts.provisions;
    pstore.clear();
    for (const rec of provisions.values()) {
      const command = pendingCommand(rec, cell, now);
      pstore.commit({ record: rec, ...(command !== undefined ? { outbox: [{ id: `cmd:${command.request_digest}`, kind: 'command' as const, command }] } : {}) });
    }
    report.provisions = provisions.size;
  }
  return report;
}
