/**
 * The MetricsPort over prom-client, read back through the strict text
 * parser: per-unit series capped at max_units (the rest counted, a slot
 * freed by unitGone), free-form labels capped with `other`, non-finite
 * figures dropped, NOOP_METRICS complete; and the orchestrator's meters
 * (orchestrator/provision-metrics.ts) over a fake clock.
 */
import t from 'tap';
import { createPromMetrics, LABEL_VALUES_MAX, type PromMetrics } from '../../adapters/metrics/index.js';
import { HolonError } from '../../bus-schemas/errors.js';
import { NOOP_METRICS, timed, type MetricsPort } from '../../bus-schemas/metrics-port.js';
import { measuredLedger, measuredQueue, ProvisionMeter } from '../../orchestrator/provision-metrics.js';
import { parsePromText, sampleValue, type Family } from './prom-text.js';

const read = async (m: PromMetrics): Promise<Map<string, Family>> => parsePromText(await m.registry.metrics());
const usage = (n: number): { cpu_seconds: number; memory_bytes: number; egress_bytes: number; storage_bytes: number } => ({ cpu_seconds: n, memory_bytes: n * 1000, egress_bytes: n * 10, storage_bytes: n * 100 });
const unitsIn = (f: Map<string, Family>): string[] => (f.get('holonet_unit_cpu_seconds')?.samples ?? []).map((s) => s.labels.holon as string).sort();

void t.test('per-unit series: at most max_units units, the rest counted once, a slot freed by unitGone', async (t) => {
  const m = createPromMetrics({ daemon: 'holon-agent', version: 'test', maxUnits: 2 });
  m.unitUsage('holon1a', usage(1));
  m.unitUsage('holon1b', usage(2));
  m.unitUsage('holon1c', usage(3));
  m.unitUsage('holon1c', usage(4));
  m.budgetRemaining('holon1c', 'cpu_seconds', 5);
  let f = await read(m);
  t.same(unitsIn(f), ['holon1a', 'holon1b'], 'the first two units seen are exported');
  t.equal(sampleValue(f, 'holonet_unit_memory_bytes', { holon: 'holon1b' }), 2000);
  t.equal(sampleValue(f, 'holonet_unit_storage_bytes', { holon: 'holon1a' }), 100);
  t.equal(sampleValue(f, 'holonet_units_exported'), 2);
  t.equal(sampleValue(f, 'holonet_units_not_exported_total'), 1, 'the third unit is counted once, however often it reports');
  t.equal(f.get('holonet_unit_budget_remaining')?.samples.length, 0, 'nor does it get a budget series');

  m.budgetRemaining('holon1a', 'cpu_seconds', 42);
  m.budgetRemaining('holon1a', 'egress_bytes', 7);
  m.unitGone('holon1a');
  m.unitGone('holon1zz');
  m.unitUsage('holon1c', usage(6));
  f = await read(m);
  t.same(unitsIn(f), ['holon1b', 'holon1c'], 'a unit gone frees its place for the next one');
  t.equal(sampleValue(f, 'holonet_unit_egress_bytes', { holon: 'holon1c' }), 60);
  t.equal(f.get('holonet_unit_budget_remaining')?.samples.length, 0, "the gone unit's budget series went with it");
  t.equal(sampleValue(f, 'holonet_units_exported'), 2);
  t.equal(sampleValue(f, 'holonet_units_not_exported_total'), 1);
});

void t.test('free-form labels take at most LABEL_VALUES_MAX values, then other; odd characters and non-finite figures', async (t) => {
  const m = createPromMetrics({ daemon: 'holon-orchestrator', version: 'test', maxUnits: 10 });
  for (let i = 0; i < LABEL_VALUES_MAX + 6; i++) m.refusal(`HOLON_E_TEST_${i}`);
  m.refusal('HOLON_E_TEST_0');
  m.step('unit "create"\n', 0.5);
  m.step('ok', NaN);
  m.ledgerAppend(Infinity);
  m.meteringLag(-Infinity);
  m.unitUsage('holon1x', { ...usage(1), memory_bytes: NaN });
  const f = await read(m);
  const codes = f.get('holonet_bus_refusals_total')?.samples ?? [];
  t.equal(codes.length, LABEL_VALUES_MAX + 1, `${LABEL_VALUES_MAX} codes and other`);
  t.equal(sampleValue(f, 'holonet_bus_refusals_total', { code: 'HOLON_E_TEST_0' }), 2);
  t.equal(sampleValue(f, 'holonet_bus_refusals_total', { code: 'other' }), 6);
  t.equal(sampleValue(f, 'holonet_provision_step_duration_seconds_count', { step: 'unit__create__' }), 1, 'characters outside [A-Za-z0-9_.:-] become _');
  t.equal(sampleValue(f, 'holonet_provision_step_duration_seconds_count', { step: 'ok' }), undefined, 'a NaN duration is dropped');
  t.equal(sampleValue(f, 'holonet_ledger_append_duration_seconds_count'), 0);
  t.equal(sampleValue(f, 'holonet_metering_lag_seconds_count'), 0);
  t.equal(sampleValue(f, 'holonet_unit_memory_bytes', { holon: 'holon1x' }), undefined, 'a NaN figure leaves no series');
  t.equal(sampleValue(f, 'holonet_unit_cpu_seconds', { holon: 'holon1x' }), 1, 'the finite ones are kept');
});

void t.test('holonet_ready follows the readiness check at each scrape; build info names the daemon', async (t) => {
  const m = createPromMetrics({ daemon: 'holon-agent', version: '9.9.9', maxUnits: 1 });
  t.equal(sampleValue(await read(m), 'holonet_ready'), 0, 'not ready until told how to tell');
  let ok = false;
  m.setReadiness(() => Promise.resolve(ok));
  t.equal(sampleValue(await read(m), 'holonet_ready'), 0);
  ok = true;
  const f = await read(m);
  t.equal(sampleValue(f, 'holonet_ready'), 1);
  t.equal(sampleValue(f, 'holonet_build_info', { daemon: 'holon-agent', version: '9.9.9' }), 1);
  t.ok((f.get('process_cpu_seconds_total')?.samples.length ?? 0) > 0, "prom-client's default process metrics are there");
});

void t.test('NOOP_METRICS has every method of the port, and so has the real one', async (t) => {
  const real = createPromMetrics({ daemon: 'holon-agent', version: 'test', maxUnits: 1 });
  const methods = Object.keys(NOOP_METRICS).sort();
  t.same(methods, ['budgetRemaining', 'ledgerAppend', 'meteringLag', 'provision', 'refusal', 'step', 'unitGone', 'unitUsage']);
  for (const k of methods) {
    t.type((real as unknown as Record<string, unknown>)[k], 'function', `real.${k}`);
    t.doesNotThrow(() => (NOOP_METRICS as unknown as Record<string, (...a: unknown[]) => void>)[k]?.('holon1a', usage(1)), `NOOP.${k}`);
  }
  t.ok(Object.isFrozen(NOOP_METRICS));
});

/** A port that records its calls, and a clock that advances by hand. */
function recorder(): { port: MetricsPort; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const port = Object.fromEntries(Object.keys(NOOP_METRICS).map((k) => [k, (...a: unknown[]) => void calls.push([k, ...a])])) as unknown as MetricsPort;
  return { port, calls };
}

void t.test('timed records successes only', async (t) => {
  let now = 10;
  const seen: number[] = [];
  t.equal(await timed(() => now, (s) => seen.push(s), async () => ((now += 2), 'v')), 'v');
  await t.rejects(timed(() => now, (s) => seen.push(s), () => Promise.reject(new Error('no'))));
  t.same(seen, [2]);
});

void t.test('orchestrator meters: outcomes, steps, placed → running, ledger and queue timings', async (t) => {
  const { port, calls } = recorder();
  let now = 100;
  const clock = (): number => now;
  const meter = new ProvisionMeter(port, clock);
  const placed = { holon: { state: 'PLACED', request_digest: 'sha256:aa' } };
  await meter.provision(async () => ((now += 0.25), placed));
  await meter.provision(async () => ({ holon: { state: 'RUNNING', request_digest: 'sha256:bb' } }));
  await t.rejects(meter.provision(() => Promise.reject(new HolonError('HOLON_E_QUOTA_EXCEEDED', 'no'))));
  await t.rejects(meter.provision(() => Promise.reject(new TypeError('bug'))));
  now = 103;
  await meter.unitReport({ event: 'PROVISIONED', request_digest: 'sha256:aa' }, async () => ((now += 0.5), 'reply'));
  await meter.unitReport({ event: 'PROVISIONED', request_digest: 'sha256:aa' }, async () => 'again');
  await meter.teardown(async () => ((now += 1), 'ok'));
  t.same(calls, [
    ['step', 'authorize_place', 0.25],
    ['provision', 'placed'],
    ['step', 'authorize_place', 0],
    ['provision', 'running'],
    ['provision', 'refused'],
    ['provision', 'error'],
    ['step', 'unit_report', 0.5],
    ['step', 'placed_to_running', 3.25],
    ['step', 'unit_report', 0],
    ['step', 'teardown', 1],
  ]);

  calls.length = 0;
  const ledger = measuredLedger({ prepare: async () => ({ id: 'e', text: 't' }), commit: async () => void (now += 0.01) }, port, clock);
  t.same(await ledger.prepare('holon1x', 'K', {}, 0), { id: 'e', text: 't' });
  await ledger.commit('t');
  const queue = measuredQueue({ ensure: async () => undefined, publish: async () => void (now += 0.02) }, port, clock);
  await queue.ensure('hkey1x');
  await queue.publish('hkey1x', 'id', new Uint8Array());
  t.equal(calls.length, 2);
  t.match(calls[0], ['ledgerAppend']);
  t.match(calls[1], ['step', 'command_publish']);
  t.ok(Math.abs((calls[0]?.[1] as number) - 0.01) < 1e-9 && Math.abs((calls[1]?.[2] as number) - 0.02) < 1e-9);
});
