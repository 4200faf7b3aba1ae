/**
 * Reading the provisioning projection: the status of one provisioning, a
 * page of holons, and who may read what (the principal, the requester, the
 * holon itself). Answers are sealed by the cell.
 */
import type { Signer } from '../../bus-schemas/keys.js';
import { convertId, type CellIdV1, type HolonIdV1 } from '../../bus-schemas/ids.js';
import { sameKey } from '../../bus-schemas/v1/holon-certificate.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { HolonListV1, ProvisionStatusV1, type HolonListRequestV1, type HolonRowV1, type HolonUsageV1, type ProvisionStatusRequestV1 } from '../../bus-schemas/v1/unit-flow.js';
import { ProvisionError } from './provision-errors.js';
import type { ProvisionRecord, ProvisionStore } from './provision-store.js';

export interface QueryContext {
  store: Pick<ProvisionStore, 'get' | 'byHolon' | 'list'>;
  cell: { cellId: CellIdV1; principalKey: string; signer: Signer };
  now: number;
  /** the usage of a holon that ran (metering); absent: no usage in the answer */
  usageOf?: (rec: ProvisionRecord) => HolonUsageV1 | undefined;
}

export function rowOf(r: ProvisionRecord): HolonRowV1 {
  return {
    request_digest: r.requestDigest,
    state: r.state,
    role: r.role as HolonRowV1['role'],
    requester: r.requester,
    machine_id: r.machineId,
    unit_name: r.unitName,
    tenant: r.tenant,
    holon_id: r.holonId,
    since: r.since,
    ...(r.refusal !== null ? { refusal: r.refusal } : {}),
  };
}

/** The sealed status of one provisioning, with its receipts. */
export function statusOf(rec: ProvisionRecord, ctx: Pick<QueryContext, 'cell' | 'now' | 'usageOf'>): ProvisionStatusV1 {
  const usage = rec.holonId !== null ? ctx.usageOf?.(rec) : undefined;
  return ProvisionStatusV1.seal(
    {
      cell_id: ctx.cell.cellId,
      holon: rowOf(rec),
      ...(rec.receipt !== null ? { receipt: rec.receipt } : {}),
      ...(rec.destruction !== null ? { destruction: rec.destruction } : {}),
      ...(usage !== undefined ? { usage } : {}),
      at: timeAt(ctx.now),
    },
    ctx.cell.signer,
  );
}

function mayRead(key: string, rec: ProvisionRecord, principalKey: string): void {
  if (sameKey(key, principalKey) || sameKey(key, rec.requester) || (rec.holonId !== null && sameKey(key, rec.holonId))) return;
  throw new ProvisionError('forbidden', `${key} may not read provisioning ${rec.requestDigest}`, '.requester_seal.key');
}

export function status(q: ProvisionStatusRequestV1, ctx: QueryContext): ProvisionStatusV1 {
  const rec = q.request_digest !== undefined ? ctx.store.get(q.request_digest) : ctx.store.byHolon(q.holon_id as HolonIdV1);
  if (rec === undefined) throw new ProvisionError('unknown-holon', `no provisioning ${q.request_digest ?? q.holon_id ?? ''} in this cell`, q.request_digest !== undefined ? '.request_digest' : '.holon_id');
  mayRead(q.requester_seal.key, rec, ctx.cell.principalKey);
  return statusOf(rec, ctx);
}

/** A page of holons: all of them for the principal, a holon's own children for a holon. */
export function list(q: HolonListRequestV1, ctx: QueryContext): HolonListV1 {
  const key = q.requester_seal.key;
  const principal = sameKey(key, ctx.cell.principalKey);
  const rows = ctx.store.list({
    limit: q.limit + 1,
    includeDestroyed: q.include_destroyed,
    ...(q.after !== undefined ? { after: q.after } : {}),
    ...(principal ? {} : { requester: convertId(key, 'holon') }),
  });
  const page = rows.slice(0, q.limit);
  return HolonListV1.seal({ cell_id: ctx.cell.cellId, holons: page.map(rowOf), more: rows.length > q.limit, at: timeAt(ctx.now) }, ctx.cell.signer);
}
