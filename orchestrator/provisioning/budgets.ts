/**
 * A holon's budget at its parent's enforcement point (DESIGN §7), the two
 * steps the provisioning service takes for it, each one ledger entry with its
 * agent command, run under the holon's lock by the service:
 *
 *   exhaust  BUDGET_EXHAUSTED: the holon's on_exhaustion policy, once
 *   topup    BUDGET_TOPPED_UP: a larger budget; a frozen unit is thawed
 */
import type { Logger } from 'pino';
import type { Clock } from '../../bus-schemas/clock.js';
import { digestOf } from '../../bus-schemas/digest.js';
import type { HolonIdV1 } from '../../bus-schemas/ids.js';
import { BudgetTopupV1 } from '../../bus-schemas/v1/budget-topup.js';
import { sameKey } from '../../bus-schemas/v1/holon-certificate.js';
import { BUDGET_QUANTITIES } from '../../bus-schemas/v1/resource-budget.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { AgentCommandV1, type ProvisionStatusV1 } from '../../bus-schemas/v1/unit-flow.js';
import type { CellMaterial } from '../cell-material.js';
import { authorityOf, checkBudget, CLOCK_SKEW_MS, UNCAPPED } from './authorize.js';
import { pendingCommand } from './commands.js';
import { applyProvisionEvent, type ExhaustedEvent, type ProvisionEvent } from './provision-events.js';
import { ProvisionError } from './provision-errors.js';
import type { ProvisionRecord, ProvisionStore } from './provision-store.js';

/** What the metering service saw: what ran out, the figures, the overshoot, and the batch. */
export type Exhaustion = Omit<ExhaustedEvent, 'kind' | 'request_digest' | 'action_digest' | 'policy'>;

export interface BudgetContext {
  store: ProvisionStore;
  cell: CellMaterial;
  clock: Clock;
  logger: Logger;
  /** the SIGTERM-to-kill grace of a TEARDOWN by exhaustion */
  grace: { exhaustionGraceMs?: number };
  /** the service's step: apply, persist with its entry and command, publish */
  step(rec: ProvisionRecord, owner: HolonIdV1, event: ProvisionEvent, command?: AgentCommandV1): Promise<ProvisionRecord>;
  status(rec: ProvisionRecord): ProvisionStatusV1;
  /** NOTIFY: hand the parent the child's sealed status (on `holon.<parent>.budget`); best effort, after the entry */
  notify?(parent: HolonIdV1, status: ProvisionStatusV1): void;
}

/**
 * A budget ran out (the metering service saw it in a sample): apply the holon's policy once, as one ledger
 * entry with its command — TEARDOWN: the graceful teardown path; FREEZE: the unit is frozen; NOTIFY: the
 * entry on the holon's chain is the notice, and the parent is told on `holon.<parent>.budget` (a sealed
 * ProvisionStatusV1 of the child; `holonctl usage` reads the same). Never throws for a
 * holon that is gone or already handled: metering is not a request anyone waits on.
 */
export async function exhaust(ctx: BudgetContext, holonId: HolonIdV1, ex: Exhaustion): Promise<ProvisionRecord | undefined> {
  const { store, cell, clock, logger } = ctx;
  const rec = store.byHolon(holonId);
  if (rec === undefined || rec.state !== 'RUNNING' || (rec.exhaustion ?? null) !== null) return undefined;
  const policy = rec.budget.on_exhaustion;
  const event: ExhaustedEvent = {
    kind: 'BUDGET_EXHAUSTED',
    request_digest: rec.requestDigest,
    action_digest: digestOf('holonet/exhaustion/v1', { request_digest: rec.requestDigest, policy, ...ex }),
    policy,
    ...ex,
  };
  const now = clock.now();
  const command = pendingCommand(applyProvisionEvent(rec, event, now), cell, now, ctx.grace);
  const next = await ctx.step(rec, holonId, event, command);
  logger.warn({ holon_id: holonId, exhausted: ex.exhausted, policy, overshoot: ex.overshoot, sequence: ex.sequence }, 'budget exhausted');
  // The entry is the notice of record; the message is a convenience for a parent that listens (a lost one is read again with `usage`).
  if (policy === 'NOTIFY') ctx.notify?.(rec.requester, ctx.status(next));
  return next;
}

/**
 * A top-up from the principal or the holon's parent (out of the parent's remaining budget, like a child's
 * budget at provisioning): one BUDGET_TOPPED_UP entry; a unit frozen by its budget is thawed.
 */
export async function topup(ctx: BudgetContext, req: BudgetTopupV1): Promise<ProvisionStatusV1> {
  const { store, cell, clock } = ctx;
  const now = clock.now();
  if (req.cell_id !== cell.cellId) throw new ProvisionError('forbidden', `a top-up for cell ${req.cell_id}, not this one`, '.cell_id');
  if (Math.abs(req.sent_at.unix_ms - now) > CLOCK_SKEW_MS) throw new ProvisionError('expired', 'sent too long ago or in the future', '.sent_at.unix_ms');
  const rec = store.byHolon(req.holon_id);
  if (rec === undefined) throw new ProvisionError('unknown-holon', `no holon ${req.holon_id} in this cell`, '.holon_id');
  const digest = BudgetTopupV1.digest(req);
  if ((rec.topups ?? []).includes(digest)) return ctx.status(rec);
  if (rec.state !== 'RUNNING' || rec.machineId === null || rec.unitName === null) throw new ProvisionError('not-ready', `holon ${req.holon_id} is ${rec.state}: only a running holon's budget can grow`, '.holon_id');
  const key = req.requester_seal.key;
  const byPrincipal = sameKey(key, cell.principalKey);
  if (!byPrincipal && !sameKey(key, rec.requester)) throw new ProvisionError('forbidden', `${key} is neither the principal nor the parent of ${req.holon_id}`, '.requester_seal.key');
  const budget = { ...rec.budget };
  for (const q of BUDGET_QUANTITIES) budget[q] = rec.budget[q] + req.add[q];
  if (budget.compute_cpu_seconds > Number.MAX_SAFE_INTEGER) throw new ProvisionError('budget', 'the sum is too large', '.add');
  if (req.valid_until !== undefined) {
    if (req.valid_until.unix_ms < rec.budget.valid_until.unix_ms) throw new ProvisionError('budget', 'a top-up cannot end the budget earlier', '.valid_until.unix_ms');
    budget.valid_until = req.valid_until;
  }
  if (!byPrincipal) {
    // The parent grants it out of what it has left, like a child's budget at provisioning.
    const parent = authorityOf({ byHolon: (h) => store.byHolon(h) }, rec.requester, { now, cell: { cellId: cell.cellId, principalKey: cell.principalKey, allowedRoles: cell.certificate.allowed_roles } });
    const others = store.activeChildren(rec.requester).filter((c) => c.requestDigest !== rec.requestDigest);
    checkBudget(budget, parent.budget, others, UNCAPPED);
  }
  const thaw = rec.exhaustion?.policy === 'FREEZE';
  const event: ProvisionEvent = { kind: 'BUDGET_TOPPED_UP', request_digest: rec.requestDigest, topup_digest: digest, requester: key, budget, thaw };
  const command = thaw
    ? AgentCommandV1.seal({ op: 'thaw', request_digest: digest, cell_id: cell.cellId, machine_id: rec.machineId, unit_name: rec.unitName, holon_id: req.holon_id, issued_at: timeAt(now) }, cell.signer)
    : undefined;
  const next = await ctx.step(rec, req.holon_id, event, command);
  ctx.logger.info({ holon_id: req.holon_id, add: req.add, thaw }, 'budget topped up');
  return ctx.status(next);
}
