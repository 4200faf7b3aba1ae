/** Public names of the pure ledger core: build the next link, check one entry, verify a replay. */
export {
  checkEntryBytes,
  checkEntrySeal,
  checkLedgerEntry,
  digestOfCanonicalEntry,
  emptyFacts,
  type EntryCheck,
  type EntryFacts,
  type EntryProblem,
} from './check-entry.js';
export { isCanonicalText } from './canonical-text.js';
export {
  LEDGER_BREAK_REASONS,
  breakReport,
  describeBreak,
  type LedgerBreak,
  type LedgerBreakReason,
  type LedgerReport,
  type LedgerVerifyMode,
  type OwnerSummary,
} from './ledger-report.js';
export { headOf, sealNextEntry, type LedgerHead, type NextEntryFields, type SealedLedgerEntry } from './next-entry.js';
export { LedgerVerifier, verifyLedger, type LedgerRecord, type LedgerVerifyOptions } from './verify-ledger.js';
