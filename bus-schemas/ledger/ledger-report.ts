/**
 * What a ledger audit reports: totals, per-owner counts, the first break and
 * a bounded sample of the others, counts per break reason. Plain JSON with
 * sorted keys, so two audits of the same stream print identical documents.
 */

/** Why an entry is not a valid link, in the order the verifier checks. */
export const LEDGER_BREAK_REASONS = [
  /** stream sequences missing (a deleted message) or out of order */
  'STREAM_GAP',
  /** subject is not `ledger.<holon-or-cell-id>` */
  'BAD_SUBJECT',
  /** larger than LedgerEntryV1.maxBytes */
  'OVERSIZE',
  /** not UTF-8, not JSON, or not a LedgerEntryV1 (path and reason in the detail) */
  'MALFORMED',
  /** a valid entry, but not in its canonical RFC 8785 bytes */
  'NON_CANONICAL',
  /** entry.owner differs from the subject's owner */
  'OWNER_MISMATCH',
  /** sealed by a key outside the trusted writer set */
  'UNTRUSTED_WRITER',
  /** the writer seal does not verify (altered entry) */
  'BAD_SEAL',
  /** replay from the start, but the owner's chain does not begin at seq 1 */
  'MISSING_GENESIS',
  /** seq at or behind the chain head: a fork or a replayed copy */
  'SEQ_REWIND',
  /** seq more than one ahead of the head: entries missing */
  'SEQ_GAP',
  /** seq follows the head but prev is not the head's digest */
  'PREV_MISMATCH',
] as const;
export type LedgerBreakReason = (typeof LEDGER_BREAK_REASONS)[number];

export interface LedgerBreak {
  stream_seq: number;
  subject: string;
  /** The subject's owner, or null when the subject names none (or for a stream gap). */
  owner: string | null;
  /** The entry's own seq when it could be decoded. */
  entry_seq: number | null;
  reason: LedgerBreakReason;
  detail: string;
}

export interface OwnerSummary {
  entries: number;
  valid: number;
  breaks: number;
  /** seq of the first entry that entered the chain (1 for an anchored chain). */
  first_seq: number | null;
  /** seq of the chain head after the replay. */
  last_seq: number | null;
  /** True when the chain was seen from its genesis entry (seq 1). */
  anchored: boolean;
}

/** `full`: every seal verified. `chain`: every link, seals at heads and run ends (see verify-ledger.ts). */
export type LedgerVerifyMode = 'full' | 'chain';

export interface LedgerReport {
  mode: LedgerVerifyMode;
  /** Ed25519 verifications done (= entries checked structurally in `full` mode). */
  seals_checked: number;
  entries: number;
  valid: number;
  owners: number;
  breaks: number;
  first_break: LedgerBreak | null;
  /** The first `keepBreaks` breaks in stream order (first_break is the first of them). */
  breaks_sample: LedgerBreak[];
  breaks_by_reason: Partial<Record<LedgerBreakReason, number>>;
  first_stream_seq: number | null;
  last_stream_seq: number | null;
  /** Per owner, keys sorted. */
  per_owner: Record<string, OwnerSummary>;
}

export interface ReportParts {
  mode: LedgerVerifyMode;
  sealsChecked: number;
  entries: number;
  valid: number;
  breaks: number;
  kept: readonly LedgerBreak[];
  byReason: ReadonlyMap<LedgerBreakReason, number>;
  owners: ReadonlyMap<string, OwnerSummary>;
  firstStreamSeq: number | null;
  lastStreamSeq: number | null;
}

/** Assemble the report (fresh objects, sorted keys: deterministic). */
export function breakReport(p: ReportParts): LedgerReport {
  const per_owner: Record<string, OwnerSummary> = {};
  for (const owner of [...p.owners.keys()].sort()) {
    const s = p.owners.get(owner) as OwnerSummary;
    per_owner[owner] = {
      entries: s.entries,
      valid: s.valid,
      breaks: s.breaks,
      first_seq: s.first_seq,
      last_seq: s.last_seq,
      anchored: s.anchored,
    };
  }
  const breaks_by_reason: Partial<Record<LedgerBreakReason, number>> = {};
  for (const reason of LEDGER_BREAK_REASONS) {
    const n = p.byReason.get(reason);
    if (n !== undefined) breaks_by_reason[reason] = n;
  }
  const sample = p.kept.map((b) => ({ ...b }));
  return {
    mode: p.mode,
    seals_checked: p.sealsChecked,
    entries: p.entries,
    valid: p.valid,
    owners: p.owners.size,
    breaks: p.breaks,
    first_break: sample[0] ?? null,
    breaks_sample: sample,
    breaks_by_reason,
    first_stream_seq: p.firstStreamSeq,
    last_stream_seq: p.lastStreamSeq,
    per_owner,
  };
}

/** One line for a break, as `holonctl audit` prints it. */
export function describeBreak(b: LedgerBreak): string {
  const at = b.entry_seq === null ? '' : ` entry seq ${b.entry_seq}`;
  return `stream seq ${b.stream_seq} ${b.subject}${at}: ${b.reason}: ${b.detail}`;
}
