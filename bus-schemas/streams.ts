/**
 * JetStream streams and KV buckets as plain config objects. Field names and
 * units mirror the JetStream wire `StreamConfig` exactly (snake_case,
 * durations in nanoseconds), so the adapter can send them as they are and
 * compare them field by field with what the server reports.
 *
 *   CMD     work queue of signed commands, one subject per agent; a command is
 *           removed once acked; Nats-Msg-Id = request digest collapses re-sends
 *   EVT     metering batches and heartbeats; bounded by age and bytes
 *   LEDGER  the evidence chains: file storage, no delete, no purge, no rollup,
 *           no limits — and discard NEW: if an operator ever sets a byte limit,
 *           a full ledger refuses new entries loudly instead of silently
 *           dropping the oldest evidence (discard OLD would).
 *   KV_holon-state, KV_revocations   KV buckets, laid out as @nats-io/kv lays them out
 */
import { HolonError } from './errors.js';
import { CMD_ROOT, EVT_ROOT, LEDGER_ROOT } from './subjects.js';

export const NANOS_PER_MS = 1_000_000;
export const SECOND_NS = 1000 * NANOS_PER_MS;
export const MINUTE_NS = 60 * SECOND_NS;
export const HOUR_NS = 60 * MINUTE_NS;
export const DAY_NS = 24 * HOUR_NS;

/** The subset of JetStream's StreamConfig that Holonet manages; wire names and units. */
export interface StreamDefinition {
  name: string;
  description: string;
  subjects: string[];
  retention: 'limits' | 'workqueue' | 'interest';
  storage: 'file' | 'memory';
  discard: 'old' | 'new';
  /** -1 = unlimited */
  max_msgs: number;
  max_bytes: number;
  /** nanoseconds; 0 = forever */
  max_age: number;
  max_msg_size: number;
  max_msgs_per_subject: number;
  /** nanoseconds */
  duplicate_window: number;
  num_replicas: number;
  deny_delete: boolean;
  deny_purge: boolean;
  allow_rollup_hdrs: boolean;
  allow_direct: boolean;
}

export interface KvDefinition {
  bucket: string;
  description: string;
  /** Values kept per key. */
  history: number;
  max_value_size: number;
  /** nanoseconds; 0 = values never expire */
  ttl: number;
  replicas: number;
}

/** Fields the server refuses to change after creation (nats-server 2.9 `stream configuration update can not change …`). */
export const IMMUTABLE_STREAM_FIELDS = ['storage', 'retention'] as const;
/** Fields that may be switched on later but never off again. */
export const TIGHTEN_ONLY_STREAM_FIELDS = ['deny_delete', 'deny_purge'] as const;

export class StreamDefinitionError extends HolonError {
  static readonly CODE = 'HOLON_E_STREAM_DEFINITION';
  readonly field: string;
  constructor(field: string, reason: string) {
    super(StreamDefinitionError.CODE, `stream definition: ${field}: ${reason}`);
    this.field = field;
  }
}

export interface StreamOptions {
  /** 1 on a single server, 3 in a cluster (odd, 1–5). */
  replicas?: number;
}

function replicasOf(opts: StreamOptions): number {
  const r = opts.replicas ?? 1;
  if (!Number.isInteger(r) || r < 1 || r > 5 || r % 2 === 0) {
    throw new StreamDefinitionError('num_replicas', `must be 1, 3 or 5, got ${String(r)}`);
  }
  return r;
}

/** Largest ledger entry on the wire; LedgerEntryV1.maxBytes must not exceed it. */
export const LEDGER_MAX_MSG_SIZE = 64 * 1024;

export function cmdStream(opts: StreamOptions = {}): StreamDefinition {
  return {
    name: 'CMD',
    description: 'holonet: signed commands, one work queue per agent (cmd.<machine-id>)',
    subjects: [`${CMD_ROOT}.>`],
    retention: 'workqueue',
    storage: 'file',
    discard: 'new',
    max_msgs: -1,
    max_bytes: 1024 * 1024 * 1024,
    max_age: 7 * DAY_NS,
    max_msg_size: 1024 * 1024,
    max_msgs_per_subject: -1,
    duplicate_window: 10 * MINUTE_NS,
    num_replicas: replicasOf(opts),
    deny_delete: false,
    deny_purge: false,
    allow_rollup_hdrs: false,
    allow_direct: false,
  };
}

export function evtStream(opts: StreamOptions = {}): StreamDefinition {
  return {
    name: 'EVT',
    description: 'holonet: metering batches and heartbeats (evt.<holon-id>.<event>)',
    subjects: [`${EVT_ROOT}.>`],
    retention: 'limits',
    storage: 'file',
    discard: 'old',
    max_msgs: -1,
    max_bytes: 4 * 1024 * 1024 * 1024,
    max_age: 30 * DAY_NS,
    max_msg_size: 1024 * 1024,
    max_msgs_per_subject: -1,
    duplicate_window: 2 * MINUTE_NS,
    num_replicas: replicasOf(opts),
    deny_delete: false,
    deny_purge: false,
    allow_rollup_hdrs: false,
    allow_direct: false,
  };
}

export function ledgerStream(opts: StreamOptions = {}): StreamDefinition {
  return {
    name: 'LEDGER',
    description: 'holonet: append-only evidence chains, one per holon or cell (ledger.<owner>)',
    subjects: [`${LEDGER_ROOT}.>`],
    retention: 'limits',
    storage: 'file',
    discard: 'new',
    max_msgs: -1,
    max_bytes: -1,
    max_age: 0,
    max_msg_size: LEDGER_MAX_MSG_SIZE,
    max_msgs_per_subject: -1,
    // Covers a publisher's retry after a lost PubAck; the chain itself
    // (expected-last-subject-sequence) refuses anything older.
    duplicate_window: 2 * MINUTE_NS,
    num_replicas: replicasOf(opts),
    deny_delete: true,
    deny_purge: true,
    allow_rollup_hdrs: false,
    // Reads of the tail go to the leader, never to a possibly stale follower.
    allow_direct: false,
  };
}

export function holonStateKv(opts: StreamOptions = {}): KvDefinition {
  return {
    bucket: 'holon-state',
    description: 'holonet: current state per holon (projection, rebuildable from LEDGER)',
    history: 5,
    max_value_size: 64 * 1024,
    ttl: 0,
    replicas: replicasOf(opts),
  };
}

export function revocationsKv(opts: StreamOptions = {}): KvDefinition {
  return {
    bucket: 'revocations',
    description: 'holonet: revoked holons and keys; a revocation never expires',
    history: 1,
    max_value_size: 16 * 1024,
    ttl: 0,
    replicas: replicasOf(opts),
  };
}

const BUCKET_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The stream behind a KV bucket, field for field as @nats-io/kv 3.x creates it (plus deny_delete, as the Go client does). */
export function kvStreamDefinition(kv: KvDefinition): StreamDefinition {
  if (!BUCKET_NAME.test(kv.bucket)) throw new StreamDefinitionError('bucket', `must match ${BUCKET_NAME.source}`);
  if (!Number.isInteger(kv.history) || kv.history < 1 || kv.history > 64) {
    throw new StreamDefinitionError('history', 'must be an integer in 1..64');
  }
  return {
    name: `KV_${kv.bucket}`,
    description: kv.description,
    subjects: [`$KV.${kv.bucket}.>`],
    retention: 'limits',
    storage: 'file',
    discard: 'new',
    max_msgs: -1,
    max_bytes: -1,
    max_age: kv.ttl,
    max_msg_size: kv.max_value_size,
    max_msgs_per_subject: kv.history,
    duplicate_window: 2 * MINUTE_NS,
    num_replicas: replicasOf({ replicas: kv.replicas }),
    deny_delete: true,
    deny_purge: false,
    allow_rollup_hdrs: true,
    allow_direct: true,
  };
}

/** Every stream a cell declares at start-up, KV streams included. */
export function holonetStreams(opts: StreamOptions = {}): StreamDefinition[] {
  return [
    cmdStream(opts),
    evtStream(opts),
    ledgerStream(opts),
    kvStreamDefinition(holonStateKv(opts)),
    kvStreamDefinition(revocationsKv(opts)),
  ];
}

export function holonetKvBuckets(opts: StreamOptions = {}): KvDefinition[] {
  return [holonStateKv(opts), revocationsKv(opts)];
}
