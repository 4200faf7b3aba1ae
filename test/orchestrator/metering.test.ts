/**
 * Metering at the parent (DESIGN §7, OBJ-ARP-03) with in-memory ports: the
 * usage account over random streams of lost, duplicated and reordered
 * batches; the batch checks of the metering service; and exhaustion through
 * the provisioning service — one BUDGET_EXHAUSTED entry with its command,
 * whatever the policy, however often the samples repeat it.
 */
import t from 'tap';
import fc from 'fast-check';
import { pino } from 'pino';
import { convertId, encodeId, type HolonIdV1 } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed } from '../../bus-schemas/keys.js';
import { BudgetTopupV1 } from '../../bus-schemas/v1/budget-topup.js';
import { ResourceMeteringBatchV1, type UnitMeterSampleV1 } from '../../bus-schemas/v1/metering-batch.js';
import type { PriceRowV1 } from '../../bus-schemas/v1/policy.js';
import type { ResourceBudgetV1 } from '../../bus-schemas/v1/resource-budget.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { checkBudget } from '../../orchestrator/provisioning/authorize.js';
import { applyProvisionEvent, parseProvisionEvent } from '../../orchestrator/provisioning/provision-events.js';
import type { ProvisionRecord } from '../../orchestrator/provisioning/provision-store.js';
import type { MachineRecord } from '../../orchestrator/machine-registry.js';
import { MeteringService } from '../../orchestrator/metering/metering-service.js';
import { pricesFor } from '../../orchestrator/metering/prices.js';
import { exhausted, newAccount, observe, standing, ZERO_FIGURES } from '../../orchestrator/metering/usage-account.js';
import { refusesAsync } from '../helpers/refuses.js';
import { HOUR, cell, cellId, clock, commands, ledger, notices, machine, machineId, principal, report, request, service, store, subject } from './provisioning-fixture.js';

const budget = (over: Partial<ResourceBudgetV1> = {}): ResourceBudgetV1 => ({
  compute_cpu_seconds: 2,
  compute_gpu_seconds: 0,
  storage_bytes: 10 * 2 ** 20,
  network_egress_bytes: 2 ** 20,
  cost_usd_cents: 50,
  valid_until: timeAt(clock.now() + HOUR),
  on_exhaustion: 'TEARDOWN',
  ...over,
});

const sampleOf = (holon: string, cpuUsec: number, over: Partial<UnitMeterSampleV1> = {}): UnitMeterSampleV1 => ({
  holon_id: holon as HolonIdV1,
  unit_name: 'u-0123456789ab',
  cpu_usec: cpuUsec,
  gpu_ms: 0,
  egress_bytes: 0,
  ingress_bytes: 0,
  storage_bytes: 0,
  memory_bytes: 0,
  memory_peak_bytes: 0,
  pids: 1,
  oom_kills: 0,
  ...over,
});

void t.test('usage account: lost, duplicated and reordered batches neither lose nor double-count', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 5_000_000 }), { minLength: 1, maxLength: 60 }), fc.array(fc.nat({ max: 200 }), { maxLength: 120 }), (increments, deliveries) => {
      // The agent's totals after each interval (monotonic), then a delivery order with losses, repeats and reordering.
      const totals = increments.reduce<number[]>((acc, d) => [...acc, (acc.at(-1) ?? 0) + d], []);
      const order = deliveries.map((i) => i % totals.length);
      let acc = newAccount('h', 'm');
      for (const i of order) acc = observe(acc, sampleOf('h', totals[i] as number), 1000 * i, i, 1000);
      const delivered = order.map((i) => totals[i] as number);
      t.equal(acc.consumed.cpu_usec, delivered.length === 0 ? 0 : Math.max(...delivered));
      // The last batch always arriving makes the figure exact.
      acc = observe(acc, sampleOf('h', totals.at(-1) as number), 1000 * totals.length, totals.length, 1000);
      return acc.consumed.cpu_usec === totals.at(-1);
    }),
  );
});

void t.test('OBJ-ARP-03 over random usage streams: remaining ≥ 0 or state = TEARDOWN; the overshoot is at most what went unseen', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 50 }),
      fc.array(fc.record({ used: fc.nat({ max: 3_000_000 }), delivered: fc.boolean(), dup: fc.boolean() }), { minLength: 1, maxLength: 80 }),
      (limitSeconds, steps) => {
        const b = budget({ compute_cpu_seconds: limitSeconds });
        let acc = newAccount('h', 'm');
        let state: 'RUNNING' | 'TEARDOWN' = 'RUNNING';
        let total = 0;
        let unseen = 0;
        let maxUnseen = 0;
        for (const [i, s] of steps.entries()) {
          if (state === 'TEARDOWN') break; // torn down: the unit no longer runs
          total += s.used;
          unseen += s.used;
          if (!s.delivered) continue;
          maxUnseen = Math.max(maxUnseen, unseen);
          unseen = 0;
          for (let k = 0; k < (s.dup ? 2 : 1); k++) acc = observe(acc, sampleOf('h', total), 1000 * i, i, 1000);
          if (exhausted(acc.consumed, b, 0).length > 0) state = 'TEARDOWN';
          const cpu = standing(acc.consumed, b)[0];
          if (cpu === undefined) return false;
          const unclamped = cpu.limit - cpu.consumed;
          if (!(unclamped >= 0 || state === 'TEARDOWN')) return false;
          // What it went past the limit by is never more than it used since the cell last saw it (+1 s of rounding).
          if (cpu.overshoot * 1e6 > maxUnseen + 1e6) return false;
        }
        return true;
      },
    ),
  );
  t.pass('property held');
});

void t.test("the sum of children's reservations never exceeds the parent's budget", async (t) => {
  const caps = { cpu_seconds: 1e9, gpu_seconds: 1e9, storage_bytes: 1e15, egress_bytes: 1e15, cost_usd_cents: 1e9 };
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 30 }), (parentCpu, asks) => {
      const parent = budget({ compute_cpu_seconds: parentCpu });
      const children: ProvisionRecord[] = [];
      for (const cpu of asks) {
        const asked = budget({ compute_cpu_seconds: cpu, storage_bytes: 0, network_egress_bytes: 0, cost_usd_cents: 0 });
        try {
          checkBudget(asked, parent, children, caps);
          children.push({ budget: asked } as ProvisionRecord);
        } catch {
          // refused: above what is left
        }
      }
      return children.reduce((s, c) => s + c.budget.compute_cpu_seconds, 0) <= parentCpu;
    }),
  );
  t.pass('property held');
});

function running(holon: string, b: ResourceBudgetV1 = budget()): ProvisionRecord {
  return { requestDigest: `sha256:${'a'.repeat(64)}`, state: 'RUNNING', machineId, unitName: 'u-0123456789ab', holonId: holon, budget: b, exhaustion: null } as unknown as ProvisionRecord;
}

function batchOf(samples: UnitMeterSampleV1[], sequence = 0, signer = machine): ResourceMeteringBatchV1 {
  return ResourceMeteringBatchV1.seal({ machine_id: encodeId('key', signer.publicKey), sequence, sampled_at: timeAt(clock.now()), interval_ms: 1000, samples }, signer);
}

void t.test('the metering service counts only what the machine may report, and acts on exhaustion once', async (t) => {
  const holon = encodeId('holon', signerFromSeed(generateEd25519().seed).publicKey);
  const other = encodeId('holon', signerFromSeed(generateEd25519().seed).publicKey);
  const recs = new Map<string, ProvisionRecord>([
    [holon, running(holon)],
    [other, { ...running(other), machineId: encodeId('key', signerFromSeed(generateEd25519().seed).publicKey) }],
  ]);
  const exhaustions: { holon: string; exhausted: string[] }[] = [];
  const svc = new MeteringService({
    holons: { byHolon: (h) => recs.get(h) },
    machines: { get: (id) => (id === machineId ? { state: 'ENROLLED' } : undefined) },
    onExhausted: async (h, ex) => void exhaustions.push({ holon: h, exhausted: ex.exhausted }),
    clock,
    log: pino({ level: 'silent' }),
  });
  const evt = `evt.${convertId(machineId, 'holon')}.metering`;
  const out = svc.ingest(evt, ResourceMeteringBatchV1.encode(batchOf([sampleOf(holon, 500_000), sampleOf(other, 9)])));
  t.same(out, { machineId, accepted: 1, dropped: [{ holon: other, reason: 'runs on another machine' }] }, "a sample of another machine's holon does not count");
  t.equal(svc.ingest(`evt.${other}.metering`, ResourceMeteringBatchV1.encode(batchOf([sampleOf(holon, 5e6)]))), undefined, 'a batch on another subject is refused');
  const stranger = signerFromSeed(generateEd25519().seed);
  t.equal(svc.ingest(`evt.${encodeId('holon', stranger.publicKey)}.metering`, ResourceMeteringBatchV1.encode(batchOf([sampleOf(holon, 5e6)], 0, stranger))), undefined, 'a machine not enrolled here is refused');
  const tampered = ResourceMeteringBatchV1.encode(batchOf([sampleOf(holon, 1)]));
  const bytes = new TextEncoder().encode(new TextDecoder().decode(tampered).replace('"cpu_usec":1', '"cpu_usec":2'));
  t.equal(svc.ingest(evt, bytes), undefined, 'a batch changed after sealing is refused');
  t.equal(svc.ingest(evt, new TextEncoder().encode('{"machine_id":1,"machine_id":2}')), undefined, 'malformed bytes are refused, never thrown');
  t.equal(svc.counts.refused, 4);
  t.equal(svc.account(holon)?.consumed.cpu_usec, 500_000, 'refused batches counted nothing');
  t.same(exhaustions, []);
  for (let i = 0; i < 3; i++) svc.ingest(evt, ResourceMeteringBatchV1.encode(batchOf([sampleOf(holon, 2_100_000)], 1 + i)));
  await new Promise((r) => setImmediate(r));
  t.same(exhaustions, [{ holon, exhausted: ['compute_cpu_seconds'] }], 'the same exhaustion seen three times is acted on once');
});

void t.test('exhaustion through the provisioning service: one ledger entry and one command per policy', async (t) => {
  for (const policy of ['TEARDOWN', 'FREEZE', 'NOTIFY'] as const) {
    const req = request(principal, { resource_budget: { ...request(principal).resource_budget, on_exhaustion: policy } });
    const placed = await service.provision(req);
    const holonSigner = signerFromSeed(generateEd25519().seed);
    const holon = encodeId('holon', holonSigner.publicKey);
    await service.unitReport(report(placed.holon.request_digest, placed.holon.unit_name as string, holonSigner), subject, machineId);
    const before = { entries: ledger.length, commands: commands.length };
    const ex = { exhausted: ['compute_cpu_seconds' as const], consumed: budget(), overshoot: { ...budget(), compute_cpu_seconds: 1 }, machine_id: machineId, sequence: 7, sampled_at: clock.now(), interval_ms: 1000 };
    const [a, b] = await Promise.all([service.budgetExhausted(holon, ex), service.budgetExhausted(holon, ex)]);
    t.ok((a === undefined) !== (b === undefined), `${policy}: two concurrent calls, one step`);
    t.equal(ledger.length, before.entries + 1, `${policy}: one ledger entry`);
    const entry = ledger.at(-1);
    t.equal(entry?.kind, 'BUDGET_EXHAUSTED');
    t.equal(entry?.owner, holon, "on the holon's own chain");
    const event = parseProvisionEvent('BUDGET_EXHAUSTED', entry?.body);
    const rec = store.byHolon(holon);
    t.same(applyProvisionEvent(rec, event, clock.now()), rec, 'the entry replays to the stored record (idempotent)');
    const cmd = commands.at(-1);
    if (policy === 'TEARDOWN') {
      t.equal(rec?.state, 'TEARDOWN');
      t.equal(rec?.teardown?.reason, 'BUDGET_EXHAUSTED');
      t.match(cmd, { op: 'destroy', grace_ms: 5000 }, 'the agent stops it gracefully, then destroys it');
    } else if (policy === 'FREEZE') {
      t.equal(rec?.state, 'RUNNING');
      t.match(cmd, { op: 'freeze', request_digest: rec?.exhaustion?.actionDigest }, 'the agent freezes it');
    } else {
      t.equal(rec?.state, 'RUNNING');
      t.equal(commands.length, before.commands, 'NOTIFY sends no command: the parent decides');
      t.match(notices.at(-1), { parent: req.requesting_holon, status: { holon: { holon_id: holon }, usage: { exhausted: ['compute_cpu_seconds'], exhaustion_policy: 'NOTIFY' } } }, "the parent is told, with the child's sealed status");
    }
    t.equal(await service.budgetExhausted(holon, ex), undefined, 'exhausted again later: nothing more');
  }
});

void t.test('standing: rounding up a started second, overshoot reported, nothing used exhausts nothing', async (t) => {
  const b = budget({ compute_cpu_seconds: 2, storage_bytes: 0 });
  t.same(exhausted(ZERO_FIGURES, b, clock.now()), [], 'a 0 storage limit with nothing stored is not exhausted');
  t.same(exhausted({ ...ZERO_FIGURES, cpu_usec: 2_000_001 }, b, clock.now()), ['compute_cpu_seconds']);
  t.match(standing({ ...ZERO_FIGURES, cpu_usec: 2_000_001 }, b)[0], { consumed: 3, limit: 2, remaining: 0, overshoot: 1 });
  t.same(exhausted(ZERO_FIGURES, b, b.valid_until.unix_ms), ['valid_until'], 'valid_until is a budget like the others');
});

void t.test('budget top-up: by the principal or the parent out of its remaining, once, thawing a frozen unit', async (t) => {
  const req = request(principal, { resource_budget: { ...request(principal).resource_budget, on_exhaustion: 'FREEZE' } });
  const placed = await service.provision(req);
  const holonSigner = signerFromSeed(generateEd25519().seed);
  const holon = encodeId('holon', holonSigner.publicKey);
  await service.unitReport(report(placed.holon.request_digest, placed.holon.unit_name as string, holonSigner), subject, machineId);
  const topup = (by = principal, add: Partial<BudgetTopupV1['add']> = { compute_cpu_seconds: 100 }): BudgetTopupV1 =>
    BudgetTopupV1.seal(
      {
        cell_id: cellId,
        holon_id: holon,
        add: { compute_cpu_seconds: 0, compute_gpu_seconds: 0, storage_bytes: 0, network_egress_bytes: 0, cost_usd_cents: 0, ...add },
        request_nonce: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url'),
        sent_at: timeAt(clock.now()),
      },
      by,
    );
  await service.budgetExhausted(holon, { exhausted: ['compute_cpu_seconds'], consumed: budget(), overshoot: budget(), machine_id: machineId, sequence: 1, sampled_at: clock.now(), interval_ms: 1000 });
  t.equal(commands.at(-1)?.op, 'freeze');
  const before = store.byHolon(holon)?.budget.compute_cpu_seconds as number;
  const up = topup();
  const s = await service.topup(up);
  t.equal(store.byHolon(holon)?.budget.compute_cpu_seconds, before + 100, 'the budget grew');
  t.equal(store.byHolon(holon)?.exhaustion, null, 'the exhaustion is cleared');
  t.match(commands.at(-1), { op: 'thaw', request_digest: BudgetTopupV1.digest(up) }, 'the frozen unit is thawed');
  t.equal(s.holon.state, 'RUNNING');
  const entries = ledger.length;
  await service.topup(up);
  t.equal(ledger.length, entries, 'the same top-up again: applied once');
  t.equal(store.byHolon(holon)?.budget.compute_cpu_seconds, before + 100);
  const stranger = signerFromSeed(generateEd25519().seed);
  await refusesAsync(t, () => service.topup(topup(stranger)), { code: 'HOLON_E_FORBIDDEN', path: '.requester_seal.key' }, 'neither principal nor parent');
  const stale = BudgetTopupV1.seal({ ...topup(), sent_at: timeAt(clock.now() - HOUR) }, principal);
  await refusesAsync(t, () => service.topup(stale), { code: 'HOLON_E_REQUEST_EXPIRED', path: '.sent_at.unix_ms' }, 'an old top-up (replayed later) is refused');
  const parsed = parseProvisionEvent('BUDGET_TOPPED_UP', ledger.at(-1)?.body);
  t.match(parsed, { topup_digest: BudgetTopupV1.digest(up), thaw: true }, 'the ledger entry says what it did');
});

void t.test('cost: cpu, gpu and egress from their totals, storage as GB-months held; a repeated batch adds nothing', async (t) => {
  const prices = { cpu_second_microcents: 1000, gpu_second_microcents: 0, storage_gb_month_microcents: 2_000_000, egress_gb_microcents: 5_000_000 };
  const MONTH = 30 * 86_400_000;
  let acc = newAccount('h', 'm');
  acc = observe(acc, sampleOf('h', 0, { storage_bytes: 1e9 }), 0, 0, 1000, prices);
  t.equal(acc.consumed.cost_microcents, 0, 'nothing used yet: storage is charged for the time it is held');
  acc = observe(acc, sampleOf('h', 2_000_000, { storage_bytes: 1e9, egress_bytes: 1e9 }), MONTH, 1, 1000, prices);
  t.equal(acc.consumed.cost_microcents, 2 * 1000 + 5_000_000 + 2_000_000, '2 cpu-s + 1 GB egress + 1 GB held for a month');
  const again = observe(acc, sampleOf('h', 2_000_000, { storage_bytes: 1e9, egress_bytes: 1e9 }), MONTH, 1, 1000, prices);
  t.same(again.consumed, acc.consumed, 'the same batch again: the same cost');
  const b = budget({ cost_usd_cents: 7, compute_cpu_seconds: 100, storage_bytes: 1e10, network_egress_bytes: 1e10 });
  t.same(exhausted(acc.consumed, b, 0), ['cost_usd_cents'], '7.002 cents against a 7 cent budget: run out');
  t.match(standing(acc.consumed, b).find((s) => s.quantity === 'cost_usd_cents'), { consumed: 8, limit: 7, overshoot: 1 });
  t.equal(observe(newAccount('h', 'm'), sampleOf('h', 5e9), 0, 0, 1000).consumed.cost_microcents, 0, 'without a price row use costs nothing');
});

void t.test('the price row of a machine: class and location, first match', async (t) => {
  const row = (over: object): PriceRowV1 => ({ cpu_second_microcents: 1, gpu_second_microcents: 0, storage_gb_month_microcents: 0, egress_gb_microcents: 0, ...over });
  const policy = { prices: [row({ machine_class: 'gpu-a100', cpu_second_microcents: 9 }), row({ location: 'fsn1', cpu_second_microcents: 5 }), row({ cpu_second_microcents: 3 })] };
  const m = (machineClass: string | null, location?: string): Pick<MachineRecord, 'approval' | 'placement'> =>
    ({ approval: machineClass === null ? null : { machineClass }, placement: { labels: location === undefined ? [] : [{ key: 'location', value: location }] } }) as unknown as Pick<MachineRecord, 'approval' | 'placement'>;
  t.equal(pricesFor(m('gpu-a100', 'fsn1'), policy)?.cpu_second_microcents, 9);
  t.equal(pricesFor(m(null, 'fsn1'), policy)?.cpu_second_microcents, 5);
  t.equal(pricesFor(m(null), policy)?.cpu_second_microcents, 3, 'the catch-all row');
  t.equal(pricesFor(m(null), {}), undefined, 'no table: no prices');
  t.equal(pricesFor(undefined, policy), undefined);
});

void t.test("the fleet capital bounds the cost budgets of the principal's units", async (t) => {
  const held = store.activeChildren(encodeId('holon', principal.publicKey)).reduce((sum, c) => sum + c.budget.cost_usd_cents, 0);
  (cell.policy as { fleet_capital_cents?: number }).fleet_capital_cents = held + 10;
  try {
    const r = request(principal);
    await refusesAsync(t, () => service.provision(r), { code: 'HOLON_E_BUDGET_EXCEEDED', path: '.resource_budget.cost_usd_cents' }, `a 50 cent unit on top of ${held} held, above a ${held + 10} cent fleet capital`);
    const free = request(principal, { resource_budget: { ...r.resource_budget, cost_usd_cents: 0 } });
    t.equal((await service.provision(free)).holon.state, 'PLACED', 'a unit that may cost nothing fits');
  } finally {
    delete (cell.policy as { fleet_capital_cents?: number }).fleet_capital_cents;
  }
});
