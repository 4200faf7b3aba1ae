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
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Msg } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Clock } from '../../bus-schemas/clock.js';
import { digestRaw, type CasDigest } from '../../bus-schemas/digest.js';
import { HolonError, MalformedError } from '../../bus-schemas/errors.js';
import type { PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import type { Signer } from '../../bus-schemas/keys.js';
import type { AuthoritySealV1 } from '../../bus-schemas/seal.js';
import { RefusalV1, RefusedError, sealRefusal } from '../../bus-schemas/v1/refusal.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { decodeJson, type SealedWireType, type WireType } from '../../bus-schemas/wire.js';
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
}

function isSealed<T>(t: WireType<T>): t is AnySealed<T> {
  return 'sealField' in t && 'verify' in t;
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
    msg = await conn.nc.request(subject, bytes, { timeout: opts.timeoutMs ?? 5000 });
  } catch (e) {
    throw new BusRequestError(conn.server, subject, errorText(e), { cause: e });
  }
  return decodeReply(conn.server, subject, msg.data, requestDigest, opts);
}

function decodeReply<Q, R>(server: string, subject: string, data: Uint8Array, requestDigest: CasDigest, opts: RequestOptions<Q, R>): R {
  let json: unknown;
  try {
    json = decodeJson(data, 'reply', Math.max(opts.replyType.maxBytes, RefusalV1.maxBytes));
  } catch (e) {
    throw new BadReplyError(server, subject, errorText(e), { cause: e });
  }
  if (typeof json === 'object' && json !== null && Object.prototype.hasOwnProperty.call(json, RefusalV1.sealField)) {
    let refusal: RefusalV1;
    try {
      if (data.byteLength > RefusalV1.maxBytes) throw new MalformedError('$', `refusal larger than ${RefusalV1.maxBytes} bytes`);
      refusal = RefusalV1.parse(json);
      RefusalV1.verify(refusal, opts.responder);
    } catch (e) {
      throw new BadReplyError(server, subject, `refusal does not verify: ${errorText(e)}`, { cause: e });
    }
    if (refusal.request_digest !== undefined && refusal.request_digest !== requestDigest) {
      throw new BadReplyError(server, subject, `refusal is for another request (${refusal.request_digest})`);
    }
    throw new RefusedError(refusal, subject);
  }
  let reply: R;
  try {
    reply = opts.replyType.parse(json);
    if (isSealed(opts.replyType)) opts.replyType.verify(reply, opts.responder);
  } catch (e) {
    throw new BadReplyError(server, subject, `not a valid ${opts.replyType.name}: ${errorText(e)}`, { cause: e });
  }
  return reply;
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
  logger?: Logger;
}

export interface ServiceStats {
  replied: number;
  refused: number;
  internalErrors: number;
  dropped: number;
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
  const stats: ServiceStats = { replied: 0, refused: 0, internalErrors: 0, dropped: 0 };
  const pending = new Set<Promise<void>>();

  const refuse = (msg: Msg, error: unknown, requestDigest: CasDigest): void => {
    const refusal = sealRefusal(error, { signer: opts.signer, at: timeAt(opts.clock.now()), requestDigest });
    msg.respond(RefusalV1.encode(refusal));
    stats.refused += 1;
  };

  const handle = async (msg: Msg): Promise<void> => {
    const requestDigest = digestRaw(msg.data);
    try {
      const request = opts.requestType.decode(msg.data);
      opts.requestType.verify(request);
      const seal = request[opts.requestType.sealField] as unknown as AuthoritySealV1;
      const reply = await opts.handler(request, { subject: msg.subject, requestDigest, requester: seal.key });
      msg.respond(encodeOwnReply(opts.replyType, reply));
      stats.replied += 1;
    } catch (e) {
      if (e instanceof HolonError) {
        log.debug({ code: e.code, requestDigest }, 'request refused');
      } else {
        stats.internalErrors += 1;
        log.error({ err: e, requestDigest }, 'request handler failed unexpectedly; sent a generic refusal');
      }
      refuse(msg, e, requestDigest);
    }
  };

  const onMessage = (msg: Msg): void => {
    if (msg.reply === undefined || msg.reply === '') {
      stats.dropped += 1;
      log.warn({ subject: msg.subject }, 'message without a reply subject ignored');
      return;
    }
    if (pending.size >= maxInFlight) {
      guard(() => refuse(msg, new ServiceBusyError(conn.server, opts.subject, maxInFlight), digestRaw(msg.data)));
      return;
    }
    const p = handle(msg)
      .catch((e: unknown) => {
        // Only reached if even the refusal could not be sealed or sent.
        stats.internalErrors += 1;
        log.error({ err: e }, 'could not answer a request');
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  };

  const guard = (fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      stats.internalErrors += 1;
      log.error({ err: e }, 'could not answer a request');
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
      await sub.drain().catch(() => undefined);
      const grace = sleep(stopOpts.graceMs ?? 10_000, 'timeout' as const, { ref: false });
      if ((await Promise.race([Promise.all([...pending]), grace])) === 'timeout') {
        log.warn({ inFlight: pending.size }, 'stopped with requests still in flight');
      }
    },
  };
}
