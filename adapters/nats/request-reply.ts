/**
 * Signed request/reply, both halves side by side.
 *
 * requestSigned: publish a sealed object, then decode the answer as either
 * the expected reply type or a RefusalV1 — verifying its seal (by the
 * expected responder, if named) and that it refuses THIS request — and raise
 * a RefusedError carrying the refusal's code.
 *
 * serve: decode every request strictly and verify its seal before the
 * handler sees it. ANY bad input — oversize, malformed, bad seal, a handler's
 * HolonError — is answered with a signed RefusalV1 naming the field and the
 * reason; an unexpected exception becomes a generic signed refusal and a log
 * line. The service never crashes and keeps serving.
 *
 * Nothing is ever published outside the requester's own inbox (DESIGN §3):
 * the reply subject of a verified request must lie under the inbox prefix of
 * the key that sealed it (`replyPrefixes`), or the handler does not run and a
 * typed refusal goes to `<requester's prefix>.refused`; a request whose
 * requester cannot be established (malformed, bad seal) is answered only if
 * its reply subject is an inbox at all. Refusals are logged within a
 * LogBudget, so a flood costs bounded log space.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Msg } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Clock } from '../../bus-schemas/clock.js';
import { digestRaw, type CasDigest } from '../../bus-schemas/digest.js';
import { HolonError } from '../../bus-schemas/errors.js';
import type { PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import type { Signer } from '../../bus-schemas/keys.js';
import type { AuthoritySealV1 } from '../../bus-schemas/seal.js';
import { RefusalV1, RefusedError, sealRefusal } from '../../bus-schemas/v1/refusal.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { LogBudget, type LogSummary } from '../../bus-schemas/log-budget.js';
import { inboxPrefix, isInboxSubject, replySubjectAllowed } from '../../bus-schemas/subjects.js';
import { decodeSignedReply } from '../../bus-schemas/signed-reply.js';
import type { SealedWireType, WireType } from '../../bus-schemas/wire.js';
import type { BusConnection } from './connect.js';
import { BadReplyError, BusRequestError, ServiceBusyError, errorText } from './errors.js';

type AnySealed<T> = SealedWireType<T, keyof T & string>;

export interface RequestOptions<Q, R> {
  subject: string;
  requestType: WireType<Q>;
  /** The request, already sealed by the requester. */
  request: Q;
  replyType: WireType<R>;
  /** If given, the reply (when sealed) and any refusal must be sealed by this key. */
  responder?: PublicKeyIdV1;
  timeoutMs?: number;
  /**
   * The requester's inbox prefix, when it is not the connection's own (one connection speaking for several
   * identities, e.g. a bootstrap session `_INBOX.bootstrap.<machine key>`): the reply comes back on
   * `<replyPrefix>.<random>`, since a responder answers only under the sealer's prefix.
   */
  replyPrefix?: string;
}

/** Send a sealed request; return the verified reply or throw RefusedError / BusRequestError / BadReplyError. */
export async function requestSigned<Q, R>(conn: BusConnection, opts: RequestOptions<Q, R>): Promise<R> {
  const { subject } = opts;
  const bytes = opts.requestType.encode(opts.request);
  // Refuse locally what the server would refuse: the same size limit.
  opts.requestType.decode(bytes);
  const requestDigest = digestRaw(bytes);
  let msg: Msg;
  try {
    const timeout = opts.timeoutMs ?? 5000;
    msg = await (opts.replyPrefix === undefined
      ? conn.nc.request(subject, bytes, { timeout })
      : conn.nc.request(subject, bytes, { timeout, noMux: true, reply: `${opts.replyPrefix}.${randomBytes(12).toString('hex')}` }));
  } catch (e) {
    throw new BusRequestError(conn.server, subject, errorText(e), { cause: e });
  }
  return decodeReply(conn.server, subject, msg.data, requestDigest, opts);
}

function decodeReply<Q, R>(server: string, subject: string, data: Uint8Array, requestDigest: CasDigest, opts: RequestOptions<Q, R>): R {
  const r = decodeSignedReply(data, {
    replyType: opts.replyType,
    label: 'reply',
    requestDigest,
    replySealedBy: opts.responder ?? 'any',
    ...(opts.responder !== undefined ? { refusalSealedBy: opts.responder } : {}),
  });
  switch (r.kind) {
    case 'reply':
      return r.value;
    case 'refusal':
      throw new RefusedError(r.refusal, subject);
    case 'not-json':
      throw new BadReplyError(server, subject, errorText(r.error), { cause: r.error });
    case 'bad-refusal':
      throw new BadReplyError(server, subject, `refusal does not verify: ${errorText(r.error)}`, { cause: r.error });
    case 'other-request':
      throw new BadReplyError(server, subject, `refusal is for another request (${r.requestDigest})`);
    case 'bad-reply':
    case 'bad-seal':
      throw new BadReplyError(server, subject, `not a valid ${opts.replyType.name}: ${errorText(r.error)}`, { cause: r.error });
  }
}

function errorFields(e: unknown): unknown {
  return e instanceof HolonError ? e.toJSON() : errorText(e);
}

/** Our own answer must be valid too; if it is not, that is our bug, never the requester's fault. */
function encodeOwnReply<R>(replyType: WireType<R>, reply: R): Uint8Array {
  try {
    return replyType.encode(replyType.parse(reply));
  } catch (e) {
    throw new Error(`handler returned an invalid ${replyType.name}: ${errorText(e)}`, { cause: e });
  }
}

export interface RequestContext {
  subject: string;
  /** SHA-256 of the raw request bytes (as in RefusalV1.request_digest). */
  requestDigest: CasDigest;
  /** The key that sealed the request (verified). */
  requester: PublicKeyIdV1;
}

export interface ServeOptions<Q, R> {
  subject: string;
  /** Queue group, so several instances share the load. */
  queue?: string;
  requestType: AnySealed<Q>;
  replyType: WireType<R>;
  /** Seals refusals. */
  signer: Signer;
  clock: Clock;
  handler: (request: Q, ctx: RequestContext) => Promise<R> | R;
  /** Requests handled at once; more are refused with HOLON_E_BUSY (default 64). */
  maxInFlight?: number;
  /** The inbox prefixes an answer to `requester` may go to (default: its own, `_INBOX.<key>`). */
  replyPrefixes?: (requester: PublicKeyIdV1) => readonly string[];
  logger?: Logger;
  /** Told the code of every signed refusal sent (metrics); must not throw. */
  onRefusal?: (code: string) => void;
}

export interface ServiceStats {
  replied: number;
  refused: number;
  internalErrors: number;
  /** no reply subject, or a refusal with nowhere safe to go: nothing sent */
  dropped: number;
  /** verified requests whose reply subject was outside the requester's inbox: not handled */
  misdirected: number;
}

/** A request whose reply subject lies outside its requester's inbox: it is not handled, and answered only in that inbox. */
export class ReplySubjectError extends HolonError {
  static readonly CODE = 'HOLON_E_REPLY_SUBJECT';
  readonly reply: string;
  constructor(reply: string | undefined, prefixes: readonly string[]) {
    const shown = (reply ?? '').slice(0, 120);
    super(ReplySubjectError.CODE, `reply subject "${shown}" is not under the requester's inbox ${prefixes.map((p) => `${p}.>`).join(' or ')}; request not processed`);
    this.reply = shown;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, reply: this.reply };
  }
}

/** Log lines for refusals and drops, within a budget per kind and interval; the budget's summaries go to `log` too. */
export function budgetedLogger(log: Logger, clock: Clock, budget = new LogBudget()): { note(kind: string, level: 'debug' | 'warn' | 'error', fields: object, msg: string): void; flush(): void } {
  const summarize = (s: LogSummary | undefined): void => {
    if (s !== undefined) log.warn({ since: new Date(s.since).toISOString(), interval_ms: s.intervalMs, suppressed: s.suppressed, total: s.total }, 'repeated refusals summarized');
  };
  return {
    note(kind, level, fields, msg) {
      const r = budget.note(kind, clock.now());
      summarize(r.summary);
      if (r.log) log[level]({ ...fields, kind }, msg);
    },
    flush: () => summarize(budget.flush(clock.now())),
  };
}

export interface Service {
  readonly subject: string;
  readonly stats: Readonly<ServiceStats>;
  /** Stop taking requests and wait (up to `graceMs`, default 10 s) for the ones in flight. */
  stop(opts?: { graceMs?: number }): Promise<void>;
}

/**
 * Serve `subject` until stop(): strict decode, seal check, handler, signed
 * reply or signed refusal. Resolves once the server has the subscription.
 */
export async function serve<Q, R>(conn: BusConnection, opts: ServeOptions<Q, R>): Promise<Service> {
  const log = (opts.logger ?? conn.logger).child({ service: opts.subject });
  const maxInFlight = opts.maxInFlight ?? 64;
  const stats: ServiceStats = { replied: 0, refused: 0, internalErrors: 0, dropped: 0, misdirected: 0 };
  const pending = new Set<Promise<void>>();
  const budget = budgetedLogger(log, opts.clock);
  const flusher = setInterval(() => budget.flush(), 10_000);
  flusher.unref();
  const prefixesOf = opts.replyPrefixes ?? ((k: PublicKeyIdV1): readonly string[] => [inboxPrefix(k)]);

  const sealedRefusal = (error: unknown, requestDigest: CasDigest): Uint8Array => {
    const refusal = sealRefusal(error, { signer: opts.signer, at: timeAt(opts.clock.now()), requestDigest });
    opts.onRefusal?.(refusal.code);
    return RefusalV1.encode(refusal);
  };

  /** A refusal of a request whose requester is not established: only into some inbox, never elsewhere. */
  const refuseUnattributed = (msg: Msg, error: unknown, requestDigest: CasDigest): void => {
    if (!isInboxSubject(msg.reply)) {
      stats.dropped += 1;
      budget.note('unattributed-not-inbox', 'warn', { reply: msg.reply?.slice(0, 120), code: (error as HolonError).code }, 'refused a request whose reply subject is not an inbox; nothing sent');
      return;
    }
    msg.respond(sealedRefusal(error, requestDigest));
    stats.refused += 1;
  };

  /** Strict decode, seal check and the reply rule, synchronously: what is refused here never takes a slot in flight. */
  const admit = (msg: Msg, requestDigest: CasDigest): { request: Q; requester: PublicKeyIdV1 } | undefined => {
    let request: Q;
    let requester: PublicKeyIdV1;
    try {
      request = opts.requestType.decode(msg.data);
      opts.requestType.verify(request);
      requester = (request[opts.requestType.sealField] as unknown as AuthoritySealV1).key;
    } catch (e) {
      budget.note(`refused:${(e as HolonError).code ?? 'internal'}`, 'debug', { err: errorFields(e), requestDigest }, 'request refused');
      refuseUnattributed(msg, e, requestDigest);
      return undefined;
    }
    const prefixes = prefixesOf(requester);
    if (!replySubjectAllowed(msg.reply, prefixes)) {
      stats.misdirected += 1;
      budget.note('misdirected', 'warn', { requester, reply: msg.reply?.slice(0, 120), requestDigest }, 'reply subject outside the requester\'s inbox: request not processed');
      conn.nc.publish(`${prefixes[0] as string}.refused`, sealedRefusal(new ReplySubjectError(msg.reply, prefixes), requestDigest));
      return undefined;
    }
    return { request, requester };
  };

  const handle = async (msg: Msg, request: Q, requester: PublicKeyIdV1, requestDigest: CasDigest): Promise<void> => {
    try {
      const reply = await opts.handler(request, { subject: msg.subject, requestDigest, requester });
      msg.respond(encodeOwnReply(opts.replyType, reply));
      stats.replied += 1;
    } catch (e) {
      if (e instanceof HolonError) {
        budget.note(`refused:${e.code}`, 'debug', { code: e.code, requestDigest }, 'request refused');
      } else {
        stats.internalErrors += 1;
        budget.note('internal', 'error', { err: e, requestDigest }, 'request handler failed unexpectedly; sent a generic refusal');
      }
      msg.respond(sealedRefusal(e, requestDigest));
      stats.refused += 1;
    }
  };

  const onMessage = (msg: Msg): void => {
    if (msg.reply === undefined || msg.reply === '') {
      stats.dropped += 1;
      budget.note('no-reply', 'warn', { subject: msg.subject }, 'message without a reply subject ignored');
      return;
    }
    const requestDigest = digestRaw(msg.data);
    const admitted = admit(msg, requestDigest);
    if (admitted === undefined) return;
    if (pending.size >= maxInFlight) {
      // The requester is known and the reply subject is its own inbox: the busy refusal goes there.
      msg.respond(sealedRefusal(new ServiceBusyError(conn.server, opts.subject, maxInFlight), requestDigest));
      stats.refused += 1;
      return;
    }
    const p = handle(msg, admitted.request, admitted.requester, requestDigest)
      .catch((e: unknown) => {
        // Only reached if even the refusal could not be sealed or sent.
        stats.internalErrors += 1;
        budget.note('unanswerable', 'error', { err: e }, 'could not answer a request');
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  };

  const guard = (fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      stats.internalErrors += 1;
      budget.note('unanswerable', 'error', { err: e }, 'could not answer a request');
    }
  };

  const sub = conn.nc.subscribe(opts.subject, {
    ...(opts.queue !== undefined ? { queue: opts.queue } : {}),
    callback: (err, msg) => {
      if (err !== null) {
        log.error({ err }, 'subscription error');
        return;
      }
      guard(() => onMessage(msg));
    },
  });
  try {
    await conn.nc.flush();
  } catch (e) {
    sub.unsubscribe();
    throw new BusRequestError(conn.server, opts.subject, `cannot subscribe: ${errorText(e)}`, { cause: e });
  }
  log.info({ queue: opts.queue }, 'serving');

  return {
    subject: opts.subject,
    stats,
    async stop(stopOpts = {}) {
      clearInterval(flusher);
      budget.flush();
      await sub.drain().catch(() => undefined);
      const grace = sleep(stopOpts.graceMs ?? 10_000, 'timeout' as const, { ref: false });
      if ((await Promise.race([Promise.all([...pending]), grace])) === 'timeout') {
        log.warn({ inFlight: pending.size }, 'stopped with requests still in flight');
      }
    },
  };
}
