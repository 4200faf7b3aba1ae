/**
 * Replay LEDGER in stream order with an ordered consumer (ephemeral,
 * memory-backed, flow-controlled by pulls of `batch` messages), from the
 * start, from a stream sequence, or from a time. Yields (seq, subject, data)
 * one at a time: memory stays bounded by the pull batch whatever the ledger
 * size. Stops at the stream's last sequence as of the start of the replay.
 *
 * nats-server 2.9: ordered consumers are created with a single
 * `filter_subject` (never `filter_subjects`, which needs 2.10).
 */
import type { ConsumerMessages, OrderedConsumerOptions, StreamInfo } from '@nats-io/jetstream';
import { LedgerVerifier, type LedgerRecord, type LedgerVerifyOptions } from '../../bus-schemas/ledger/verify-ledger.js';
import type { LedgerReport } from '../../bus-schemas/ledger/ledger-report.js';
import { LEDGER_ROOT } from '../../bus-schemas/subjects.js';
import type { BusConnection } from './connect.js';
import { BusConfigError, BusRequestError, errorText } from './errors.js';

export type ReplayStart = { seq: number } | { time: Date };

export interface ReplayOptions {
  /** Stream name (default LEDGER). */
  stream?: string;
  /** Where to start (default: the first message). */
  since?: ReplayStart;
  /** Only this subject (e.g. one owner's `ledger.<id>`); default every ledger subject. */
  subject?: string;
  /** Messages per pull (default 1024); with `via: 'get'`, gets in flight. */
  batch?: number;
  /**
   * 'consumer' (default): an ordered consumer, for identities with the JetStream API.
   * 'get': single-message gets by sequence (`$JS.API.STREAM.MSG.GET.<stream>`), read-only: what the operator's
   * credential allows (`holonctl audit`), since creating a consumer could deliver anywhere.
   */
  via?: 'consumer' | 'get';
}

export interface LedgerReplay {
  /** Stream state when the replay began. */
  firstSeq: number;
  lastSeq: number;
  messages: number;
  /** Messages this replay will deliver (from the consumer's pending count). */
  pending: number;
  records: AsyncIterable<LedgerRecord>;
}

/** Open a replay; iterate `records` once. */
export async function openLedgerReplay(conn: BusConnection, opts: ReplayOptions = {}): Promise<LedgerReplay> {
  const stream = opts.stream ?? 'LEDGER';
  let si: StreamInfo;
  try {
    si = await conn.jsm.streams.info(stream);
  } catch (e) {
    throw new BusRequestError(conn.server, `STREAM.INFO.${stream}`, errorText(e), { cause: e });
  }
  const { first_seq: firstSeq, last_seq: lastSeq, messages } = si.state;
  const copts: Partial<OrderedConsumerOptions> = { filter_subjects: opts.subject ?? `${LEDGER_ROOT}.>` };
  const since = opts.since;
  if (since !== undefined && 'seq' in since) {
    if (!Number.isSafeInteger(since.seq) || since.seq < 1) throw new BusConfigError(conn.server, 'since', 'stream seq must be ≥ 1');
    copts.opt_start_seq = since.seq;
  } else if (since !== undefined) {
    if (Number.isNaN(since.time.getTime())) throw new BusConfigError(conn.server, 'since', 'invalid time');
    copts.opt_start_time = since.time.toISOString();
  }
  const empty: AsyncIterable<LedgerRecord> = { [Symbol.asyncIterator]: async function* () {} };
  if (messages === 0 || (since !== undefined && 'seq' in since && since.seq > lastSeq)) {
    return { firstSeq, lastSeq, messages, pending: 0, records: empty };
  }
  if (opts.via === 'get') return replayByGet(conn, stream, si, opts);
  let consumer;
  let pending: number;
  try {
    consumer = await conn.js.consumers.get(stream, copts);
    pending = (await consumer.info(true)).num_pending;
  } catch (e) {
    throw new BusRequestError(conn.server, `CONSUMER.CREATE.${stream}`, errorText(e), { cause: e });
  }
  if (pending === 0) {
    await consumer.delete().catch(() => undefined);
    return { firstSeq, lastSeq, messages, pending, records: empty };
  }
  const batch = opts.batch ?? 1024;
  const c = consumer;
  async function* records(): AsyncGenerator<LedgerRecord> {
    let iter: ConsumerMessages | undefined;
    try {
      iter = await c.consume({ max_messages: batch });
      for await (const m of iter) {
        yield { stream_seq: m.seq, subject: m.subject, data: m.data };
        if (m.seq >= lastSeq || m.info.pending === 0) break;
      }
    } catch (e) {
      throw new BusRequestError(conn.server, `replay of ${stream}`, errorText(e), { cause: e });
    } finally {
      await iter?.close().catch(() => undefined);
      await c.delete().catch(() => undefined);
    }
  }
  return { firstSeq, lastSeq, messages, pending, records: { [Symbol.asyncIterator]: records } };
}

/**
 * The read-only replay: gets by sequence, `batch` in flight, in order. A start
 * time is found by binary search over the stored messages' times. Messages
 * whose subject does not match `opts.subject` (exact, or `ledger.>`) are skipped.
 */
async function replayByGet(conn: BusConnection, stream: string, si: StreamInfo, opts: ReplayOptions): Promise<LedgerReplay> {
  const { first_seq: firstSeq, last_seq: lastSeq, messages } = si.state;
  const get = async (seq: number): Promise<{ seq: number; subject: string; data: Uint8Array; time: number } | null> => {
    try {
      const m = await conn.jsm.streams.getMessage(stream, { seq });
      return m === null ? null : { seq: m.seq, subject: m.subject, data: m.data, time: m.time.getTime() };
    } catch (e) {
      throw new BusRequestError(conn.server, `STREAM.MSG.GET.${stream} ${seq}`, errorText(e), { cause: e });
    }
  };
  let start = firstSeq;
  const since = opts.since;
  if (since !== undefined && 'seq' in since) start = Math.max(firstSeq, since.seq);
  else if (since !== undefined) {
    // The first message stored at or after `since.time` (times only grow with the sequence).
    const t = since.time.getTime();
    let lo = firstSeq;
    let hi = lastSeq + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const m = await get(mid);
      if (m === null || m.time < t) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const filter = opts.subject;
  const matches = (subject: string): boolean => filter === undefined || filter === subject || (filter.endsWith('.>') && subject.startsWith(filter.slice(0, -1)));
  const window = Math.max(1, Math.min(opts.batch ?? 64, 256));
  async function* records(): AsyncGenerator<LedgerRecord> {
    for (let next = start; next <= lastSeq; next += window) {
      const end = Math.min(lastSeq, next + window - 1);
      const batch = await Promise.all(Array.from({ length: end - next + 1 }, (_, i) => get(next + i)));
      for (const m of batch) if (m !== null && matches(m.subject)) yield { stream_seq: m.seq, subject: m.subject, data: m.data };
    }
  }
  return { firstSeq, lastSeq, messages, pending: Math.max(0, lastSeq - start + 1), records: { [Symbol.asyncIterator]: records } };
}

export interface AuditOptions
  extends ReplayOptions,
    Omit<LedgerVerifyOptions, 'fromStart' | 'expectFirstStreamSeq' | 'checkStreamGaps'> {
  /** Called every `progressEvery` entries (default 10 000). */
  onProgress?: (p: { entries: number; breaks: number; total: number }) => void;
  progressEvery?: number;
}

/**
 * Replay and verify in one pass; the report is the pure verifier's. `mode`
 * (default 'chain') picks which seals are verified: see bus-schemas/ledger/SEALS.md.
 */
export async function auditLedger(conn: BusConnection, opts: AuditOptions = {}): Promise<LedgerReport & { stream_last_seq: number }> {
  const replay = await openLedgerReplay(conn, opts);
  const fromStart = opts.since === undefined;
  const verifier = new LedgerVerifier({
    ...(opts.mode !== undefined ? { mode: opts.mode } : {}),
    ...(opts.trustedWriters !== undefined ? { trustedWriters: opts.trustedWriters } : {}),
    ...(opts.keepBreaks !== undefined ? { keepBreaks: opts.keepBreaks } : {}),
    fromStart,
    checkStreamGaps: opts.subject === undefined,
    // A ledger is never purged: a replay from the start must begin at stream seq 1.
    ...(fromStart && opts.subject === undefined ? { expectFirstStreamSeq: 1 } : {}),
  });
  const every = opts.progressEvery ?? 10_000;
  const onProgress = opts.onProgress;
  let countdown = every;
  for await (const r of replay.records) {
    verifier.add(r);
    if (onProgress !== undefined && --countdown === 0) {
      countdown = every;
      const t = verifier.totals;
      onProgress({ entries: t.entries, breaks: t.breaks, total: replay.pending });
    }
  }
  return { ...verifier.report(), stream_last_seq: replay.lastSeq };
}
