/**
 * `chain` vs `full` verification on in-memory streams: where chain mode
 * verifies seals (heads, run ends), what it catches through the links, what
 * it reports, and the one case it deliberately does not re-check.
 */
import t from 'tap';
import { encodeId } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed, type Signer } from '../../bus-schemas/keys.js';
import { headOf, sealNextEntry, type LedgerHead, type SealedLedgerEntry } from '../../bus-schemas/ledger/next-entry.js';
import { verifyLedger, LedgerVerifier, type LedgerRecord } from '../../bus-schemas/ledger/verify-ledger.js';
import { ledgerSubject, type LedgerOwner } from '../../bus-schemas/subjects.js';
import { LedgerEntryV1 } from '../../bus-schemas/v1/ledger-entry.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { digestOfCanonicalEntry } from '../../bus-schemas/ledger/check-entry.js';

const w1 = signerFromSeed(generateEd25519().seed);
const w2 = signerFromSeed(generateEd25519().seed);
const forger = signerFromSeed(generateEd25519().seed);
const k1 = encodeId('key', w1.publicKey);
const k2 = encodeId('key', w2.publicKey);
const trusted = [k1, k2];
const ownerA = encodeId('holon', generateEd25519().publicKey);
const ownerB = encodeId('cell', generateEd25519().publicKey);

class FakeStream {
  records: LedgerRecord[] = [];
  heads = new Map<string, LedgerHead>();
  append(owner: LedgerOwner, signer: Signer, body: Record<string, number> = {}): SealedLedgerEntry {
    const s = sealNextEntry(this.heads.get(owner) ?? null, { owner, kind: 'METERED', body, at: timeAt(1_700_000_000_000) }, signer);
    this.push(owner, s.bytes);
    this.heads.set(owner, headOf(s));
    return s;
  }
  /** An entry that claims `claimed`'s key but was signed by someone else; chained correctly. */
  forge(owner: LedgerOwner, claimed: Signer): SealedLedgerEntry {
    const s = sealNextEntry(this.heads.get(owner) ?? null, { owner, kind: 'FORGED', body: { n: 1 }, at: timeAt(1) }, forger);
    const entry = { ...s.entry, writer_seal: { ...s.entry.writer_seal, key: encodeId('key', claimed.publicKey) } };
    const bytes = LedgerEntryV1.encode(entry);
    const forged = { entry, bytes, digest: digestOfCanonicalEntry(bytes) };
    this.push(owner, bytes);
    this.heads.set(owner, headOf(forged));
    return forged;
  }
  push(owner: LedgerOwner, data: Uint8Array): void {
    this.records.push({ stream_seq: this.records.length + 1, subject: ledgerSubject(owner), data });
  }
}

const both = (records: LedgerRecord[]) => ({
  chain: verifyLedger(records, { trustedWriters: trusted, mode: 'chain' }),
  full: verifyLedger(records, { trustedWriters: trusted, mode: 'full' }),
});

void t.test('clean ledger: both modes agree; chain verifies one seal per head and run end', async (t) => {
  const fs = new FakeStream();
  for (let i = 0; i < 10; i++) fs.append(ownerA, i < 6 ? w1 : w2, { i }); // one hand-over: entry 6 ends w1's run
  for (let i = 0; i < 5; i++) fs.append(ownerB, w1, { i });
  const { chain, full } = both(fs.records);
  t.match(chain, { mode: 'chain', entries: 15, valid: 15, breaks: 0, seals_checked: 3 }, 'A: run end 6 + head 10; B: head 5');
  t.match(full, { mode: 'full', entries: 15, valid: 15, breaks: 0, seals_checked: 15 });
  t.same({ ...chain, mode: 'full', seals_checked: 15 }, full, 'otherwise the same report');
  t.equal(verifyLedger(fs.records).mode, 'chain', 'chain is the default');
});

void t.test('a forged entry at an owner head (bad seal) is caught: the head is always verified', async (t) => {
  const fs = new FakeStream();
  for (let i = 0; i < 4; i++) fs.append(ownerA, w1, { i });
  fs.forge(ownerA, w1);
  const { chain, full } = both(fs.records);
  for (const r of [chain, full]) {
    t.match(r, { breaks: 1, valid: 4, breaks_by_reason: { BAD_SEAL: 1 } }, r.mode);
    t.match(r.first_break, { stream_seq: 5, entry_seq: 5, owner: ownerA, reason: 'BAD_SEAL' }, r.mode);
  }
  t.equal(chain.seals_checked, 1);
});

void t.test('an entry altered in place mid-chain is caught by chain mode through the broken link', async (t) => {
  const fs = new FakeStream();
  for (let i = 0; i < 6; i++) fs.append(ownerA, w1, { i });
  const victim = fs.records[2] as LedgerRecord;
  const entry = LedgerEntryV1.decode(victim.data);
  victim.data = LedgerEntryV1.encode({ ...entry, body: { i: 999 } }); // storage rewritten; seal left as it was
  const { chain, full } = both(fs.records);
  t.match(chain, { breaks: 2, seals_checked: 2 });
  t.same(chain.breaks_sample.map((b) => [b.stream_seq, b.reason]), [
    [3, 'BAD_SEAL'],
    [4, 'PREV_MISMATCH'],
  ], 'the next entry no longer links, so the altered one ends a run and its seal is checked too');
  t.same(full.breaks_sample.map((b) => [b.stream_seq, b.reason]), [
    [3, 'BAD_SEAL'],
    [4, 'SEQ_GAP'],
  ], 'full mode also names the altered entry itself');
});

void t.test('a forged seal mid-chain that no honest writer extended ends a run: caught with its own location', async (t) => {
  const fs = new FakeStream();
  for (let i = 0; i < 3; i++) fs.append(ownerA, w1, { i });
  fs.forge(ownerA, w1); // entry 4 claims w1, bad signature
  // A non-compliant writer (w2 chaining without verifying the head) extends it; honest writers refuse (ledger.test.ts).
  for (let i = 0; i < 3; i++) fs.append(ownerA, w2, { i });
  fs.append(ownerB, w2);
  const { chain, full } = both(fs.records);
  t.match(chain, { breaks: 1, valid: 7, first_break: { stream_seq: 4, entry_seq: 4, reason: 'BAD_SEAL' } });
  t.match(chain.first_break?.detail, /does not verify/);
  t.match(full, { breaks: 2, first_break: { stream_seq: 4, reason: 'BAD_SEAL' } }, 'full mode: the same entry (then a gap)');
  t.equal(chain.seals_checked, 3, 'entry 4 (run end), entry 7 (head of A), head of B');
});

void t.test('a run of forged entries: chain mode flags the run end and names the unvouched run', async (t) => {
  const fs = new FakeStream();
  fs.append(ownerA, w1);
  fs.forge(ownerA, w2);
  fs.forge(ownerA, w2);
  fs.forge(ownerA, w2);
  const { chain, full } = both(fs.records);
  t.match(chain, { breaks: 1, first_break: { stream_seq: 4, entry_seq: 4, reason: 'BAD_SEAL' } });
  t.match(chain.first_break?.detail, /entries 2\.\.4 \(stream seq 2\.\.4\) of this key, which are unvouched now \(audit --full checks each\)/);
  t.equal(full.breaks_by_reason.BAD_SEAL, 3, 'full mode: each forged entry');
  t.match(full.first_break, { stream_seq: 2 });
});

void t.test('residual case, by design: a bad seal inside one key’s run, extended by that same key', async (t) => {
  // Only a writer holding k1 can seal entry 4 over entry 3's digest. An honest k1 writer verifies any
  // head it did not write itself, so this arises only if k1's holder misbehaves — and k1's holder could
  // as well have sealed entry 3 properly. Chain mode trusts k1's seal on entry 4 for entry 3; full mode
  // checks entry 3 too.
  const fs = new FakeStream();
  for (let i = 0; i < 2; i++) fs.append(ownerA, w1, { i });
  fs.forge(ownerA, w1);
  fs.append(ownerA, w1, { i: 3 });
  const { chain, full } = both(fs.records);
  t.match(chain, { breaks: 0, seals_checked: 1 }, 'chain mode: vouched for by the next seal of the same key');
  t.match(full, { breaks: 2, first_break: { stream_seq: 3, reason: 'BAD_SEAL' } }, 'full mode: caught (then a gap)');
});

void t.test('a seal break found late still comes first in stream order, and the sample stays bounded', async (t) => {
  const fs = new FakeStream();
  fs.append(ownerA, w1);
  fs.forge(ownerA, w1); // stream seq 2: a head until the end of the replay
  for (let i = 0; i < 5; i++) fs.push(ownerB, new TextEncoder().encode(`{"n":${i}}`)); // 5 MALFORMED after it
  const v = new LedgerVerifier({ trustedWriters: trusted, keepBreaks: 3 });
  for (const r of fs.records) v.add(r);
  t.equal(v.totals.breaks, 5, 'before report(): the head seal is not settled yet');
  const r = v.report();
  t.equal(r.breaks, 6);
  t.same(r.breaks_sample.map((b) => [b.stream_seq, b.reason]), [
    [2, 'BAD_SEAL'],
    [3, 'MALFORMED'],
    [4, 'MALFORMED'],
  ]);
  t.same(v.report(), r, 'report() settles each seal once');
});

void t.test('a gap inside one key’s run: the entry before the gap ends a run and is verified', async (t) => {
  const fs = new FakeStream();
  fs.append(ownerA, w1);
  fs.forge(ownerA, w1); // entry 2, bad seal; then entry 3 is lost
  fs.append(ownerA, w1);
  fs.records.pop();
  fs.append(ownerA, w1); // entry 4: its prev does not link to entry 2, so entry 2's seal is vouched for by nobody
  const chain = verifyLedger(fs.records, { trustedWriters: trusted });
  t.same(chain.breaks_sample.map((b) => [b.stream_seq, b.entry_seq, b.reason]), [
    [2, 2, 'BAD_SEAL'],
    [3, 4, 'SEQ_GAP'],
  ]);
});
