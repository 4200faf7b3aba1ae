import t from 'tap';
import { encodeId } from '../../bus-schemas/ids.js';
import { MalformedError } from '../../bus-schemas/errors.js';
import { jsonValue } from '../../bus-schemas/json-value.js';
import { generateEd25519, signerFromSeed, type Signer } from '../../bus-schemas/keys.js';
import { digestOfCanonicalEntry } from '../../bus-schemas/ledger/check-entry.js';
import { headOf, sealNextEntry, type LedgerHead, type SealedLedgerEntry } from '../../bus-schemas/ledger/next-entry.js';
import { verifyLedger, type LedgerRecord } from '../../bus-schemas/ledger/verify-ledger.js';
import { ledgerSubject, type LedgerOwner } from '../../bus-schemas/subjects.js';
import { LedgerEntryV1 } from '../../bus-schemas/v1/ledger-entry.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { refuses } from '../helpers/refuses.js';

const writer = signerFromSeed(generateEd25519().seed);
const intruder = signerFromSeed(generateEd25519().seed);
const writerKey = encodeId('key', writer.publicKey);
const ownerA = encodeId('holon', generateEd25519().publicKey);
const ownerB = encodeId('cell', generateEd25519().publicKey);
const enc = new TextEncoder();

/** A tiny in-memory stream: append sealed entries, get LedgerRecords back. */
class FakeStream {
  records: LedgerRecord[] = [];
  heads = new Map<string, LedgerHead>();
  append(owner: LedgerOwner, kind: string, body: unknown, signer: Signer = writer): SealedLedgerEntry {
    const s = sealNextEntry(this.heads.get(owner) ?? null, { owner, kind, body: body as never, at: timeAt(1_700_000_000_000 + this.records.length) }, signer);
    this.heads.set(owner, headOf(s));
    this.raw(ledgerSubject(owner), s.bytes);
    return s;
  }
  raw(subject: string, data: Uint8Array): void {
    this.records.push({ stream_seq: this.records.length + 1, subject, data });
  }
}

void t.test('bounded JSON values: every limit is enforced with a path', async (t) => {
  const s = jsonValue({ maxDepth: 3, maxKeys: 2, maxItems: 3, maxStringLength: 5, maxNodes: 10 });
  t.same(s.parseAt({ a: [1, 'x', null], b: { c: true } }, '$'), { a: [1, 'x', null], b: { c: true } });
  refuses(t, () => s.parseAt({ a: { b: { c: { d: 1 } } } }, '$'), { path: '$.a.b.c', reason: 'nested deeper than 3' });
  refuses(t, () => s.parseAt({ a: 1, b: 2, c: 3 }, '$'), { path: '$', reason: 'object has more than 2 keys' });
  refuses(t, () => s.parseAt([1, 2, 3, 4], '$'), { reason: 'array longer than 3' });
  refuses(t, () => s.parseAt({ a: 'toolong' }, '$'), { path: '$.a', reason: 'string longer than 5' });
  refuses(t, () => s.parseAt({ 'bad key!': 1 }, '$'), { path: '$["bad key!"]', reason: 'key longer than 5' });
  refuses(t, () => s.parseAt([[1, 2, 3], [1, 2, 3], [1, 2, 3]], '$'), { reason: 'value has more than 10 nodes' });
  refuses(t, () => s.parseAt(JSON.parse('{"__proto__":1}'), '$'), { path: '$.__proto__', reason: 'key "__proto__" is not allowed' });
  refuses(t, () => s.parseAt({ a: Number.NaN }, '$'), { reason: 'expected a finite number' });
  refuses(t, () => s.parseAt({ a: 2 ** 60 }, '$'), { reason: 'integer outside the safe range' });
  refuses(t, () => s.parseAt({ a: () => 1 }, '$'), { reason: 'expected a JSON value, got function' });
  refuses(t, () => s.parseAt({ a: new Date() }, '$'), { reason: 'expected a plain object' });
});

void t.test('LedgerEntryV1: strict fields, genesis rule, digest shortcut', async (t) => {
  const fs = new FakeStream();
  const e1 = fs.append(ownerA, 'PROVISION_AUTHORIZED', { request: 'sha256:x' });
  const e2 = fs.append(ownerA, 'PROVISIONED', { ok: true });
  t.equal(e1.entry.seq, 1);
  t.equal(e1.entry.prev, null);
  t.equal(e2.entry.prev, e1.digest, 'prev is the digest of the previous entry');
  t.equal(e2.digest, LedgerEntryV1.digest(e2.entry));
  t.equal(digestOfCanonicalEntry(e2.bytes), LedgerEntryV1.digest(e2.entry), 'digest over canonical bytes = digest of the value');
  t.equal(e2.entry.writer_seal.key, writerKey);
  t.same(LedgerEntryV1.decode(e2.bytes), e2.entry, 'what the writer seals, the strict decoder accepts');
  refuses(t, () => sealNextEntry(null, { owner: writerKey as never, kind: 'X', body: {}, at: timeAt(1) }, writer), { path: '$.owner' });
  refuses(t, () => sealNextEntry(null, { owner: ownerA, kind: 'X', body: {}, at: { unix_ms: -1, source: 'SYSTEM' } }, writer), {
    path: '$.at.unix_ms',
  });
  const base = { ...e2.entry };
  refuses(t, () => LedgerEntryV1.parse({ ...base, seq: 1 }), { path: '$.prev', reason: 'must be null for seq 1' });
  refuses(t, () => LedgerEntryV1.parse({ ...base, prev: null }), { path: '$.prev', reason: 'required for seq > 1' });
  refuses(t, () => LedgerEntryV1.parse({ ...base, kind: 'provisioned' }), { path: '$.kind', reason: 'expected an UPPER_SNAKE event name' });
  refuses(t, () => LedgerEntryV1.parse({ ...base, owner: writerKey }), { path: '$.owner' });
  refuses(t, () => LedgerEntryV1.parse({ ...base, seq: 0 }), { path: '$.seq' });
  refuses(t, () => sealNextEntry(null, { owner: ownerA, kind: 'X', body: 'x'.repeat(9000), at: timeAt(1) }, writer), {
    path: '$.body',
    reason: 'string longer than 8192',
  });
  const big = Array.from({ length: 20 }, () => 'y'.repeat(4000));
  refuses(t, () => sealNextEntry(null, { owner: ownerA, kind: 'X', body: big, at: timeAt(1) }, writer), { code: 'HOLON_E_OVERSIZE' });
});

void t.test('verifier: clean interleaved chains, counts per owner', async (t) => {
  const fs = new FakeStream();
  for (let i = 0; i < 5; i++) {
    fs.append(ownerA, 'METERED', { i });
    if (i % 2 === 0) fs.append(ownerB, 'CHECKPOINT', { i });
  }
  const r = verifyLedger(fs.records, { trustedWriters: [writerKey], expectFirstStreamSeq: 1 });
  t.match(r, { entries: 8, valid: 8, owners: 2, breaks: 0, first_break: null, first_stream_seq: 1, last_stream_seq: 8 });
  t.same(r.per_owner[ownerA], { entries: 5, valid: 5, breaks: 0, first_seq: 1, last_seq: 5, anchored: true });
  t.same(r.per_owner[ownerB], { entries: 3, valid: 3, breaks: 0, first_seq: 1, last_seq: 3, anchored: true });
});

void t.test('verifier: an altered copy republished is one break (BAD_SEAL in full mode); the chain goes on', async (t) => {
  const fs = new FakeStream();
  const entries = [1, 2, 3, 4].map((i) => fs.append(ownerA, 'METERED', { cpu: i }));
  const altered = { ...(entries[1] as SealedLedgerEntry).entry, body: { cpu: 9999 } };
  fs.raw(ledgerSubject(ownerA), LedgerEntryV1.encode(altered));
  fs.append(ownerA, 'METERED', { cpu: 5 });
  const r = verifyLedger(fs.records, { mode: 'full' });
  t.equal(r.breaks, 1);
  t.match(r.first_break, { stream_seq: 5, subject: ledgerSubject(ownerA), owner: ownerA, entry_seq: 2, reason: 'BAD_SEAL' });
  t.match(r.per_owner[ownerA], { entries: 6, valid: 5, breaks: 1, last_seq: 5 });
  const chain = verifyLedger(fs.records, { mode: 'chain' });
  t.match(chain, { breaks: 1, seals_checked: 1, first_break: { stream_seq: 5, entry_seq: 2, reason: 'SEQ_REWIND' } }, 'chain mode: behind the head, no seal math needed');
  t.match(chain.per_owner[ownerA], { entries: 6, valid: 5, breaks: 1, last_seq: 5 });
});

void t.test('verifier: forks, gaps, wrong prev, intruders, bad bytes — every break named and counted', async (t) => {
  const fs = new FakeStream();
  fs.append(ownerA, 'A', {});
  const two = fs.append(ownerA, 'A', { n: 2 });
  fs.raw(ledgerSubject(ownerA), two.bytes); // 3: exact replayed copy → SEQ_REWIND
  // 4: a well-sealed entry by an intruder, chained correctly
  fs.append(ownerA, 'A', { n: 3 }, intruder);
  // 5: skip seq 5 → SEQ_GAP at seq 6
  fs.heads.set(ownerA, { seq: 5, digest: (fs.heads.get(ownerA) as LedgerHead).digest });
  fs.append(ownerA, 'A', { n: 6 });
  // 6: right seq, wrong prev
  fs.heads.set(ownerA, { seq: 6, digest: two.digest });
  fs.append(ownerA, 'A', { n: 7 });
  // 7: non-canonical bytes of a valid entry
  const pretty = enc.encode(JSON.stringify(sealNextEntry(null, { owner: ownerB, kind: 'B', body: {}, at: timeAt(5) }, writer).entry, null, 1));
  fs.raw(ledgerSubject(ownerB), pretty);
  // 8: an entry of A on B's subject; 9: not JSON; 10: a subject that names no owner
  fs.raw(ledgerSubject(ownerB), two.bytes);
  fs.raw(ledgerSubject(ownerB), enc.encode('{"owner":'));
  fs.raw('ledger.nobody', two.bytes);
  // 11: B's genesis arrives late but is fine
  fs.append(ownerB, 'B', {});

  const open = verifyLedger(fs.records);
  t.same(open.breaks_by_reason, {
    BAD_SUBJECT: 1,
    MALFORMED: 1,
    NON_CANONICAL: 1,
    OWNER_MISMATCH: 1,
    SEQ_REWIND: 1,
    SEQ_GAP: 1,
    PREV_MISMATCH: 1,
  });
  t.match(open.first_break, { stream_seq: 3, reason: 'SEQ_REWIND', entry_seq: 2 });
  t.match(open.breaks_sample.map((b) => [b.stream_seq, b.reason]), [
    [3, 'SEQ_REWIND'],
    [5, 'SEQ_GAP'],
    [6, 'PREV_MISMATCH'],
    [7, 'NON_CANONICAL'],
    [8, 'OWNER_MISMATCH'],
    [9, 'MALFORMED'],
    [10, 'BAD_SUBJECT'],
  ]);
  t.match(open.per_owner[ownerB], { entries: 4, valid: 1, breaks: 3, last_seq: 1, anchored: true });

  const trusted = verifyLedger(fs.records, { trustedWriters: [writerKey] });
  t.equal(trusted.breaks_by_reason.UNTRUSTED_WRITER, 1, 'the intruder is caught once writers are pinned');
  t.match(trusted.breaks_sample.find((b) => b.reason === 'UNTRUSTED_WRITER'), { stream_seq: 4, entry_seq: 3 });
  t.same(verifyLedger(fs.records, { trustedWriters: [writerKey] }), trusted, 'deterministic: same records, same report');
  const kept = verifyLedger(fs.records, { keepBreaks: 2 });
  t.equal(kept.breaks_sample.length, 2);
  t.equal(kept.breaks, open.breaks, 'breaks beyond the sample are still counted');
});

void t.test('verifier: genesis and stream gaps depend on where the replay starts', async (t) => {
  const fs = new FakeStream();
  for (let i = 0; i < 6; i++) fs.append(ownerA, 'A', { i });
  const tail = fs.records.slice(3);
  t.match(verifyLedger(tail), { breaks: 1, first_break: { reason: 'MISSING_GENESIS', stream_seq: 4, entry_seq: 4 } });
  t.match(verifyLedger(tail, { fromStart: false }), { breaks: 0, per_owner: { [ownerA]: { anchored: false, first_seq: 4, last_seq: 6 } } });
  t.match(verifyLedger(tail, { fromStart: false, expectFirstStreamSeq: 1 }), {
    breaks: 1,
    first_break: { reason: 'STREAM_GAP', owner: null, detail: 'replay starts at stream seq 4, expected 1' },
  });
  const holed = fs.records.filter((r) => r.stream_seq !== 3);
  const r = verifyLedger(holed);
  t.same(Object.keys(r.breaks_by_reason).sort(), ['SEQ_GAP', 'STREAM_GAP']);
  t.match(r.first_break, { reason: 'STREAM_GAP', stream_seq: 4, detail: 'stream seqs 3..3 missing (deleted?)' });
  t.match(verifyLedger(holed, { checkStreamGaps: false }).breaks_by_reason, { SEQ_GAP: 1 });
});

void t.test('malformed entries carry the JSON path of the problem', async (t) => {
  const fs = new FakeStream();
  const e = fs.append(ownerA, 'A', {});
  const bad = { ...e.entry, at: { unix_ms: -1, source: 'SYSTEM' } };
  const r = verifyLedger([{ stream_seq: 1, subject: ledgerSubject(ownerA), data: enc.encode(JSON.stringify(bad)) }]);
  t.match(r.first_break, { reason: 'MALFORMED', detail: '$.at.unix_ms: integer below minimum 0' });
  t.type(new MalformedError('$', 'x'), MalformedError);
});
