/**
 * A unit's budget from the operator's side: `holonctl usage` (consumed,
 * remaining and overshoot per resource, as the parent's cell meters it) and
 * `holonctl budget topup` (a principal-sealed BudgetTopupV1).
 */
import { API_SUBJECTS } from '../../bus-schemas/subjects.js';
import { BudgetTopupV1 } from '../../bus-schemas/v1/budget-topup.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { ProvisionStatusV1, type HolonUsageV1 } from '../../bus-schemas/v1/unit-flow.js';
import { EXIT_OK, UsageError, writeLine, type CliIo, type Command } from '../command.js';
import type { CliPorts } from '../ports.js';
import { BUS_HELP, nonce, parse, parseDuration, positiveInt, status, target } from './holon-requests.js';
import { busArgs, loadPrincipalContext, openCell } from './machines.js';

export const USAGE_ROWS = [
  ['cpu', 'compute_cpu_seconds', 's'],
  ['gpu', 'compute_gpu_seconds', 's'],
  ['egress', 'network_egress_bytes', 'B'],
  ['storage', 'storage_bytes', 'B'],
  ['cost', 'cost_usd_cents', 'US cents'],
] as const;

/** consumed / remaining per resource, the overshoot, and what ran out. */
export function printUsage(io: CliIo, u: HolonUsageV1): void {
  const when = u.sampled_at !== undefined ? `sampled ${new Date(u.sampled_at.unix_ms).toISOString()} (batch ${u.batch_sequence ?? '-'}, every ${u.interval_ms ?? '-'} ms)` : 'not metered since the cell started: figures unknown';
  writeLine(io.stdout, `usage      ${when}`);
  for (const [label, q, unit] of USAGE_ROWS) {
    const over = u.overshoot[q] > 0 ? `  overshoot ${u.overshoot[q]} ${unit}` : '';
    writeLine(io.stdout, `  ${label.padEnd(8)} ${String(u.consumed[q]).padStart(14)} used  ${String(u.remaining[q]).padStart(14)} left ${unit}${over}`);
  }
  writeLine(io.stdout, `  memory peak ${u.memory_peak_bytes} B, ingress ${u.ingress_bytes} B`);
  if (u.exhausted !== undefined) writeLine(io.stdout, `exhausted  ${u.exhausted.join(', ')} → ${u.exhaustion_policy ?? '-'}`);
}

// --- usage ---------------------------------------------------------------------------------------

const USAGE_HELP = `holonctl usage — a unit's use of its budget, as its parent's cell meters it

usage: holonctl usage <holon1…|sha256:request digest> [--watch] [--interval 1s] [--json]

  --watch                print it again every interval until interrupted (or the unit is destroyed)
  --interval <dur>       how often --watch asks (default 1s)
${BUS_HELP}`;

async function runUsage(args: string[], io: CliIo, ports: CliPorts): Promise<number> {
  const { values, positionals } = parse(args, { watch: { type: 'boolean' }, interval: { type: 'string' } }, true);
  if (positionals.length > 1) throw new UsageError('one holon at a time');
  const by = target(positionals[0]);
  const every = parseDuration(values.interval ?? '1s', 'interval');
  const a = busArgs(values, io, ports);
  const ctx = await loadPrincipalContext(a.dir);
  const client = await openCell(ports, a, ctx);
  try {
    for (;;) {
      const s = await status(client, ctx, by);
      if (values.json === true) writeLine(io.stdout, JSON.stringify({ holon_id: s.holon.holon_id, state: s.holon.state, usage: s.usage ?? null }));
      else {
        writeLine(io.stdout, `holon      ${s.holon.holon_id ?? '(not issued yet)'} ${s.holon.state}`);
        if (s.usage !== undefined) printUsage(io, s.usage);
        else writeLine(io.stdout, 'usage      none: the unit has not run');
      }
      if (values.watch !== true || s.holon.state === 'DESTROYED' || s.holon.state === 'REFUSED') return EXIT_OK;
      await new Promise((r) => setTimeout(r, every));
    }
  } finally {
    await client.close();
  }
}

// --- budget topup ----------------------------------------------------------------------------------

const BUDGET_HELP = `holonctl budget — grow a unit's budget

usage: holonctl budget topup <holon1…> [--cpu-seconds N] [--gpu-seconds N] [--egress-bytes N]
                             [--storage-bytes N] [--cost-cents N] [--extend <dur>] [--json]

Adds to each quantity of the unit's budget (sealed by the principal key). A unit
frozen because its budget ran out (--on-exhaustion FREEZE) is thawed; the same
top-up sent again (--nonce) is applied once.

  --extend <dur>         move the budget's end later by this much, e.g. 2h
  --nonce <b64url>       reuse a request nonce (re-sending the same top-up is idempotent)
${BUS_HELP}`;

async function runBudget(args: string[], io: CliIo, ports: CliPorts): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      'cpu-seconds': { type: 'string' },
      'gpu-seconds': { type: 'string' },
      'egress-bytes': { type: 'string' },
      'storage-bytes': { type: 'string' },
      'cost-cents': { type: 'string' },
      extend: { type: 'string' },
      nonce: { type: 'string' },
    },
    true,
  );
  if (positionals[0] !== 'topup') throw new UsageError(positionals[0] === undefined ? 'say what to do: holonctl budget topup <holon>' : `unknown budget command ${JSON.stringify(positionals[0])} (topup)`);
  if (positionals.length !== 2) throw new UsageError('one holon at a time: holonctl budget topup <holon1…>');
  const by = target(positionals[1]);
  if (!('holon_id' in by)) throw new UsageError('give the holon id (holon1…), not a request digest');
  const add = {
    compute_cpu_seconds: positiveInt(values['cpu-seconds'], 'cpu-seconds', 0),
    compute_gpu_seconds: positiveInt(values['gpu-seconds'], 'gpu-seconds', 0),
    storage_bytes: positiveInt(values['storage-bytes'], 'storage-bytes', 0),
    network_egress_bytes: positiveInt(values['egress-bytes'], 'egress-bytes', 0),
    cost_usd_cents: positiveInt(values['cost-cents'], 'cost-cents', 0),
  };
  if (Object.values(add).every((v) => v === 0) && values.extend === undefined) throw new UsageError('nothing to add: give at least one of --cpu-seconds, --gpu-seconds, --egress-bytes, --storage-bytes, --cost-cents, --extend');
  const a = busArgs(values, io, ports);
  const ctx = await loadPrincipalContext(a.dir);
  const client = await openCell(ports, a, ctx);
  try {
    const now = Date.now();
    const before = values.extend !== undefined ? await status(client, ctx, by) : undefined;
    const until = before?.receipt?.resource_budget.valid_until.unix_ms;
    if (values.extend !== undefined && until === undefined) throw new UsageError(`${by.holon_id} has no budget to extend (not running)`);
    const request = BudgetTopupV1.seal(
      {
        cell_id: ctx.cellId,
        holon_id: by.holon_id,
        add,
        ...(until !== undefined ? { valid_until: timeAt(until + parseDuration(values.extend as string, 'extend')) } : {}),
        request_nonce: values.nonce ?? nonce(),
        sent_at: timeAt(now),
      },
      ctx.principal,
    );
    const s = await client.request({ subject: API_SUBJECTS.budgetTopup, requestType: BudgetTopupV1, request, replyType: ProvisionStatusV1, responder: ctx.cellKey });
    if (values.json === true) writeLine(io.stdout, JSON.stringify({ holon_id: s.holon.holon_id, state: s.holon.state, topup_digest: BudgetTopupV1.digest(request), usage: s.usage ?? null }));
    else {
      writeLine(io.stdout, `holon      ${s.holon.holon_id ?? '-'} ${s.holon.state}: budget topped up`);
      if (s.usage !== undefined) printUsage(io, s.usage);
    }
    return EXIT_OK;
  } finally {
    await client.close();
  }
}

export const usageCommand: Command = { name: 'usage', summary: "a unit's use of its budget (consumed, left, overshoot)", help: USAGE_HELP, run: runUsage };
export const budgetCommand: Command = { name: 'budget', summary: "grow a unit's budget (topup); thaws a unit frozen by it", help: BUDGET_HELP, run: runBudget };
