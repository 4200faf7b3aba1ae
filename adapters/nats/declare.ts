/**
 * Idempotent stream and KV declaration: create a stream if it is absent; if
 * it exists, compare every field we manage, update what the server lets us
 * update, and refuse (StreamConflictError naming the field) what it cannot:
 * a change of storage or retention, switching deny_delete / deny_purge off,
 * or a sealed stream. Safe to run at every start-up, from several processes.
 */
import { JetStreamApiError, type StreamConfig, type StreamInfo } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import {
  IMMUTABLE_STREAM_FIELDS,
  TIGHTEN_ONLY_STREAM_FIELDS,
  kvStreamDefinition,
  type KvDefinition,
  type StreamDefinition,
} from '../../bus-schemas/streams.js';
import type { BusConnection } from './connect.js';
import { BusRequestError, StreamConflictError, errorText } from './errors.js';

export type DeclareAction = 'created' | 'updated' | 'unchanged';

export interface DeclareResult {
  stream: string;
  action: DeclareAction;
  /** Fields changed by an update (empty otherwise). */
  changed: string[];
}

const STREAM_NOT_FOUND = 10059;
const STREAM_NAME_IN_USE = 10058;

type Field = Exclude<keyof StreamDefinition, 'name'>;

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    const sa = [...(a as unknown[])].map(String).sort();
    const sb = [...(b as unknown[])].map(String).sort();
    return sa.length === sb.length && sa.every((x, i) => x === sb[i]);
  }
  // The server omits false booleans and empty descriptions in some versions.
  return (a ?? defaultOf(b)) === b;
}

function defaultOf(v: unknown): unknown {
  if (typeof v === 'boolean') return false;
  if (typeof v === 'string') return '';
  return undefined;
}

/**
 * The fields of `def` that differ from `existing`; throws StreamConflictError
 * for the first one that cannot be changed in place.
 */
export function planStreamUpdate(server: string, def: StreamDefinition, existing: Partial<StreamConfig>): Field[] {
  const have = existing as Record<string, unknown>;
  if (have.sealed === true) throw new StreamConflictError(server, def.name, 'sealed', true, false, 'a sealed stream accepts nothing');
  const changed: Field[] = [];
  for (const field of Object.keys(def) as (keyof StreamDefinition)[]) {
    if (field === 'name') continue;
    const wanted = def[field];
    const current = have[field];
    if (sameValue(current, wanted)) continue;
    if ((IMMUTABLE_STREAM_FIELDS as readonly string[]).includes(field)) {
      throw new StreamConflictError(server, def.name, field, current, wanted, 'fixed when the stream was created');
    }
    if ((TIGHTEN_ONLY_STREAM_FIELDS as readonly string[]).includes(field) && current === true && wanted === false) {
      throw new StreamConflictError(server, def.name, field, current, wanted, 'can be switched on, never off');
    }
    changed.push(field);
  }
  return changed;
}

async function streamInfo(conn: BusConnection, name: string): Promise<StreamInfo | null> {
  try {
    return await conn.jsm.streams.info(name);
  } catch (e) {
    if (e instanceof JetStreamApiError && e.code === STREAM_NOT_FOUND) return null;
    throw new BusRequestError(conn.server, `STREAM.INFO.${name}`, errorText(e), { cause: e });
  }
}

/** Create-if-absent, update-if-compatible, refuse-if-not. */
export async function declareStream(conn: BusConnection, def: StreamDefinition): Promise<DeclareResult> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const info = await streamInfo(conn, def.name);
    if (info === null) {
      try {
        await conn.jsm.streams.add({ ...def });
        conn.logger.info({ stream: def.name, replicas: def.num_replicas }, 'stream created');
        return { stream: def.name, action: 'created', changed: [] };
      } catch (e) {
        // Someone else created it between our info and add: reconcile with theirs.
        if (e instanceof JetStreamApiError && e.code === STREAM_NAME_IN_USE) continue;
        throw new BusRequestError(conn.server, `STREAM.CREATE.${def.name}`, errorText(e), { cause: e });
      }
    }
    const changed = planStreamUpdate(conn.server, def, info.config);
    if (changed.length === 0) return { stream: def.name, action: 'unchanged', changed };
    const patch: Record<string, unknown> = {};
    for (const f of changed) patch[f] = def[f];
    try {
      await conn.jsm.streams.update(def.name, patch);
    } catch (e) {
      throw new BusRequestError(conn.server, `STREAM.UPDATE.${def.name}`, `update of ${changed.join(', ')} refused: ${errorText(e)}`, {
        cause: e,
      });
    }
    conn.logger.info({ stream: def.name, changed }, 'stream updated');
    return { stream: def.name, action: 'updated', changed };
  }
  throw new BusRequestError(conn.server, `STREAM.CREATE.${def.name}`, 'stream kept appearing and disappearing; giving up');
}

/** Declare several streams in order (stops at the first conflict). */
export async function declareStreams(conn: BusConnection, defs: readonly StreamDefinition[]): Promise<DeclareResult[]> {
  const out: DeclareResult[] = [];
  for (const def of defs) out.push(await declareStream(conn, def));
  return out;
}

/** Declare a KV bucket's stream (as above) and open the bucket. */
export async function openKv(conn: BusConnection, def: KvDefinition): Promise<KV> {
  await declareStream(conn, kvStreamDefinition(def));
  try {
    return await new Kvm(conn.js).open(def.bucket);
  } catch (e) {
    throw new BusRequestError(conn.server, `KV ${def.bucket}`, `cannot open bucket: ${errorText(e)}`, { cause: e });
  }
}
