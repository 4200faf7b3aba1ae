import t from 'tap';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { declareStream } from '../../adapters/nats/declare.js';
import { LedgerAppendError } from '../../adapters/nats/errors.js';
import { auditLedger } from '../../adapters/nats/ledger-replay.js';
import { LedgerHeadError, LedgerWriter, type AppendResult } from '../../adapters/nats/ledger-writer.js';
import { ManualClock, systemClock } from '../../bus-schemas/clock.js';
import { encodeId } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed } from '../../bus-schemas/keys.js';
import { sealNextEntry } from '../../bus-schemas/ledger/next-entry.js';
import { ledgerStream } from '../../bus-schemas/streams.js';
import { ledgerSubject } from '../../bus-schemas/subjects.js';
import { LedgerEntryV1 } from '../../bus-schemas/v1/ledger-entry.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { refusesAsync } from '../helpers/refuses.js';
import { busFixture } from './bus-fixture.js';

const run = promisify(execFile);
const HOLONCTL = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

async function holonctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [HOLONCTL, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: x.code ?? -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

const cell = signerFromSeed(generateEd25519().seed);
const cellKey = encodeId('key', cell.publicKey);
const holon = encodeId('holon', generateEd25519().publicKey);

void t.test('ledger on a real JetStream', async (t) => {
  const bus = await busFixture(t);
  const conn = await bus.connect();
  await declareStream(conn, ledgerStream());

  await t.test('a duplicate append collapses: same msgID, PubAck duplicate, one message', async (t) => {
    const owner = encodeId('holon', generateEd25519().publicKey);
    const w1 = new LedgerWriter(conn, { signer: cell, clock: new ManualClock() });
    const prepared = await w1.prepare(owner, 'PROVISION_AUTHORIZED', { request: 'r1' });
    const first = await w1.commit(prepared);
    t.match(first, { duplicate: false, stream_seq: 1, digest: prepared.sealed.digest });
    const again = await w1.commit(prepared);
    t.match(again, { duplicate: true, stream_seq: 1 }, 'a re-send collapses');
    const other = new LedgerWriter(await bus.connect(), { signer: cell, clock: systemClock });
    t.match(await other.commit(prepared), { duplicate: true, stream_seq: 1 }, 'even from another writer');
    t.equal((await conn.jsm.streams.info('LEDGER', { subjects_filter: ledgerSubject(owner) })).state.messages, 1);
    // Two entries prepared on the same head: the first lands, the second can never fork the chain.
    const p2 = await w1.prepare(owner, 'PROVISIONED', { by: 'p2' });
    const p3 = await other.prepare(owner, 'PROVISIONED', { by: 'p3' });
    t.match(await w1.commit(p2), { duplicate: false, entry: { seq: 2, prev: prepared.sealed.digest } });
    await refusesAsync(t, () => other.commit(p3), {
      code: LedgerAppendError.CODE,
      message: /seq 2 was taken by another entry/,
    }, 'a stale prepared entry is refused, not forked');
    t.match(await other.append(owner, 'PROVISIONED', { by: 'p3' }), { entry: { seq: 3 } }, 'append re-reads and chains after it');
  });

  await t.test('two concurrent writers on one holon make ONE unbroken chain of 100', async (t) => {
    const a = new LedgerWriter(await bus.connect(), { signer: cell, clock: systemClock });
    const b = new LedgerWriter(await bus.connect(), { signer: cell, clock: systemClock });
    const results: AppendResult[] = [];
    const loop = async (w: LedgerWriter, name: string): Promise<void> => {
      for (let i = 0; i < 50; i++) results.push(await w.append(holon, 'METERED', { writer: name, i }));
    };
    await Promise.all([loop(a, 'a'), loop(b, 'b')]);
    t.same(results.map((r) => r.entry.seq).sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i + 1), 'seqs 1..100, none twice');
    const conflicts = results.reduce((n, r) => n + r.attempts - 1, 0);
    t.ok(conflicts > 0, `the writers really raced (${conflicts} conflicts re-read and retried)`);
    const report = await auditLedger(conn, { subject: ledgerSubject(holon), trustedWriters: [cellKey] });
    t.match(report, { entries: 100, valid: 100, owners: 1, breaks: 0 });
    t.match(report.per_owner[holon], { first_seq: 1, last_seq: 100, anchored: true });
  });

  await t.test('holonctl audit: clean ledger exits 0', async (t) => {
    const r = await holonctl(['audit', '--server', bus.server.url, '--trust', cellKey]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^ledger audit: OK: 103 entries \(103 valid\), 2 owners, 0 breaks \[stream seq 1\.\.103\]/);
  });

  await t.test('an altered entry republished is caught by the verifier and by holonctl audit', async (t) => {
    const stored = await conn.jsm.streams.getMessage('LEDGER', { seq: 50 });
    t.ok(stored !== null);
    const original = LedgerEntryV1.decode(stored!.data);
    const altered = { ...original, body: { ...(original.body as object), i: 999 } };
    const ack = await conn.js.publish(stored!.subject, LedgerEntryV1.encode(altered));
    t.equal(ack.seq, 104);

    const report = await auditLedger(conn, { mode: 'full' });
    t.match(report, { mode: 'full', seals_checked: 104, entries: 104, breaks: 1, first_break: { stream_seq: 104, reason: 'BAD_SEAL', owner: holon } });
    t.same(await auditLedger(conn, { mode: 'full' }), report, 'a second replay gives the identical report');
    const chain = await auditLedger(conn, {});
    t.match(chain, { mode: 'chain', seals_checked: 2, entries: 104, breaks: 1, first_break: { stream_seq: 104, reason: 'SEQ_REWIND', owner: holon } });

    const human = await holonctl(['audit', '--server', bus.server.url, '--full']);
    t.equal(human.code, 1, 'non-zero exit on a break');
    t.match(human.stdout, /ledger audit: BROKEN: 104 entries \(103 valid\), 2 owners, 1 breaks/);
    t.match(human.stdout, /\nmode: full: 104 Ed25519 seals verified\n/);
    t.match(human.stdout, new RegExp(`first break: stream seq 104 ledger\\.${holon} entry seq \\d+: BAD_SEAL: seal: signature by ${cellKey}`));
    const quick = await holonctl(['audit', '--server', bus.server.url]);
    t.equal(quick.code, 1, 'chain mode (the default) exits 1 too');
    t.match(quick.stdout, /\nmode: chain: 2 Ed25519 seals verified \(owner heads and writer hand-overs; --full checks all\)\n/);
    t.match(quick.stdout, new RegExp(`first break: stream seq 104 ledger\\.${holon} entry seq \\d+: SEQ_REWIND`));

    const json = await holonctl(['audit', '--server', bus.server.url, '--json', '--full']);
    t.equal(json.code, 1);
    const doc = JSON.parse(json.stdout);
    t.match(doc, { ok: false, mode: 'full', entries: 104, breaks: 1, breaks_by_reason: { BAD_SEAL: 1 }, first_break: { stream_seq: 104 } });
    t.ok(doc.owners_with_breaks[holon], 'the broken owner is listed');

    const fresh = new LedgerWriter(await bus.connect(), { signer: cell, clock: systemClock });
    await refusesAsync(t, () => fresh.append(holon, 'METERED', {}), {
      code: LedgerAppendError.CODE,
      reason: 'BAD_SEAL',
      stream_seq: 104,
      message: /head at stream seq 104 is not a valid entry: BAD_SEAL/,
    }, 'a writer never chains onto a tampered head');
  });

  await t.test('replay from a stream seq or a time anchors chains where it starts', async (t) => {
    const fromSeq = await auditLedger(conn, { since: { seq: 60 }, subject: ledgerSubject(holon), mode: 'full' });
    t.match(fromSeq, { entries: 45, breaks: 1, first_stream_seq: 60, first_break: { reason: 'BAD_SEAL' } });
    const future = await auditLedger(conn, { since: { time: new Date(Date.now() + 60_000) } });
    t.match(future, { entries: 0, breaks: 0 });
    const past = await auditLedger(conn, { since: { time: new Date(Date.now() - 60_000) } });
    t.match(past, { entries: 104, breaks: 1 });
    const cli = await holonctl(['audit', '--server', bus.server.url, '--since', '103', '--json']);
    t.match(JSON.parse(cli.stdout), { entries: 2, since: { seq: 103 }, first_break: { stream_seq: 104 } });
    const iso = new Date(Date.now() - 3_600_000).toISOString();
    const byTime = await holonctl(['audit', '--server', bus.server.url, '--since', iso, '--progress', '--progress-every', '50']);
    t.equal(byTime.code, 1);
    t.match(byTime.stdout, /BROKEN: 104 entries/);
    t.equal(byTime.stderr, 'holonctl audit: 50/104 entries, 0 breaks\nholonctl audit: 100/104 entries, 0 breaks\n', 'progress on stderr');
  });

  await t.test('holonctl usage errors exit 2 with one line', async (t) => {
    const r = await holonctl(['audit', '--server', bus.server.url, '--trust', 'hkey1nope']);
    t.equal(r.code, 2);
    t.match(r.stderr, /^holonctl audit: --trust hkey1nope: .*\(see holonctl audit --help\)\n$/);
    const down = await holonctl(['audit', '--server', 'nats://127.0.0.1:1']);
    t.equal(down.code, 1);
    t.match(down.stderr, /^holonctl audit: bus\(nats\): cannot connect: .* \[HOLON_E_BUS_CONNECT\]\n$/);
  });
});

void t.test('past the duplicate window, re-committing an entry that landed is still a no-op', async (t) => {
  const bus = await busFixture(t);
  const conn = await bus.connect();
  await declareStream(conn, { ...ledgerStream(), duplicate_window: 200 * 1_000_000 });
  const w = new LedgerWriter(conn, { signer: cell, clock: systemClock });
  const p = await w.prepare(holon, 'PROVISION_AUTHORIZED', { r: 1 });
  t.match(await w.commit(p), { duplicate: false, stream_seq: 1 });
  await new Promise((r) => setTimeout(r, 600));
  t.match(await w.commit(p), { duplicate: true, stream_seq: 1 }, 'the tail is our entry: reported as a duplicate');
  t.equal((await conn.jsm.streams.info('LEDGER')).state.messages, 1);
});

void t.test('a forged head (raw publish, bad seal) is refused by every writer and caught by the chain-mode audit', async (t) => {
  const bus = await busFixture(t);
  const conn = await bus.connect();
  await declareStream(conn, ledgerStream());
  const other = signerFromSeed(generateEd25519().seed);
  const otherKey = encodeId('key', other.publicKey);
  const forger = signerFromSeed(generateEd25519().seed);
  const trustedWriters = [cellKey, otherKey];
  const owner = encodeId('holon', generateEd25519().publicKey);
  const w = new LedgerWriter(conn, { signer: cell, clock: systemClock, trustedWriters });
  for (let i = 0; i < 5; i++) await w.append(owner, 'METERED', { i });

  const head = await w.readHead(owner);
  const sealed = sealNextEntry(head, { owner, kind: 'METERED', body: { i: 'forged' }, at: timeAt(Date.now()) }, forger);
  const forged = { ...sealed.entry, writer_seal: { ...sealed.entry.writer_seal, key: cellKey } };
  t.equal((await conn.js.publish(ledgerSubject(owner), LedgerEntryV1.encode(forged))).seq, 6, 'injected at the head');

  const refusal = { code: LedgerAppendError.CODE, reason: 'BAD_SEAL', stream_seq: 6, entry_seq: 6 };
  const e1 = await refusesAsync(t, () => w.append(owner, 'METERED', { i: 6 }), refusal, 'the writer that holds its own head in memory');
  t.type(e1, LedgerHeadError);
  const w2 = new LedgerWriter(await bus.connect(), { signer: other, clock: systemClock, trustedWriters });
  await refusesAsync(t, () => w2.append(owner, 'METERED', { i: 6 }), refusal, 'a writer of another key reading the head');
  t.equal((await conn.jsm.streams.info('LEDGER')).state.messages, 6, 'nothing was appended on top');

  const chain = await auditLedger(conn, { trustedWriters });
  t.match(chain, { mode: 'chain', breaks: 1, seals_checked: 1, first_break: { stream_seq: 6, entry_seq: 6, reason: 'BAD_SEAL' } });
  const full = await auditLedger(conn, { trustedWriters, mode: 'full' });
  t.match(full, { mode: 'full', breaks: 1, seals_checked: 6, first_break: { stream_seq: 6, reason: 'BAD_SEAL' } });
});

void t.test('a validly sealed fork head (as 2.9 clusters can make) is chained onto, and the audit reports the fork', async (t) => {
  const bus = await busFixture(t);
  const conn = await bus.connect();
  await declareStream(conn, ledgerStream());
  const owner = encodeId('holon', generateEd25519().publicKey);
  const w = new LedgerWriter(conn, { signer: cell, clock: systemClock, trustedWriters: [cellKey] });
  const results: AppendResult[] = [];
  for (let i = 0; i < 3; i++) results.push(await w.append(owner, 'METERED', { i }));
  const second = results[1] as AppendResult;
  // A second entry 3, properly sealed by the trusted key, chained onto entry 2: a fork published past the writer.
  const fork = sealNextEntry({ seq: 2, digest: second.digest }, { owner, kind: 'METERED', body: { fork: true }, at: timeAt(Date.now()) }, cell);
  await conn.js.publish(ledgerSubject(owner), fork.bytes);
  const next = await w.append(owner, 'METERED', { i: 3 });
  t.match(next, { entry: { seq: 4, prev: fork.digest }, stream_seq: 5 }, 'the writer verified the fork head (trusted, valid seal) and went on from it');
  const audit = await auditLedger(conn, {});
  t.same(audit.breaks_sample.map((b) => [b.stream_seq, b.entry_seq, b.reason]), [
    [4, 3, 'SEQ_REWIND'],
    [5, 4, 'PREV_MISMATCH'],
  ], 'the audit reports the fork and where the chain followed it');
});
