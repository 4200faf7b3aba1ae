/**
 * The agent's unit state machine over in-memory ports (unit-fakes.ts): every
 * step and what it leaves behind, a restart after a crash right after each
 * persisted step (with the unit kept, and lost as the noop adapter loses it),
 * each step run twice, destroy and its tombstone, and every refusal of the
 * command and job handlers. The real-parts versions are
 * test/provision/crash-agent.test.ts, crash-redelivery.test.ts and job.test.ts.
 */
import t, { type Test } from 'tap';
import { ManualClock } from '../../bus-schemas/clock.js';
import { HolonError } from '../../bus-schemas/errors.js';
import { convertId } from '../../bus-schemas/ids.js';
import { evtSubject, holonSubject, AGENT_COMMAND_TOKEN, JOB_COMMAND_TOKEN, JOB_OUTPUT_TOKEN, UNIT_REPORT_TOKEN } from '../../bus-schemas/subjects.js';
import type { UnitSpec } from '../../bus-schemas/units/port.js';
import { verifyHolonKeyProof } from '../../bus-schemas/v1/holon-key-proof.js';
import { JobCommandV1, JobResultV1 } from '../../bus-schemas/v1/job.js';
import { RefusalV1 } from '../../bus-schemas/v1/refusal.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { AgentCommandV1, UnitReportV1 } from '../../bus-schemas/v1/unit-flow.js';
import { UnitManager, COMMAND_RETRY_DELAY_MS } from '../../agent/unit-manager.js';
import { STEP_ORDER, UNIT_FILES, UnitStates, type UnitState } from '../../agent/unit-state.js';
import { PROVISION_STEPS, runSteps, type StepContext, type TenantEnvPort } from '../../agent/unit-steps.js';
import { agentCommand } from '../bus-schemas/v1/flow-samples.js';
import { jobCommand } from '../bus-schemas/v1/job-samples.js';
import { resealed, T0 } from '../bus-schemas/v1/samples.js';
import { cellId, keyId, SIGNERS } from '../bus-schemas/v1/sample-keys.js';
import { LogCapture, nkeys } from './agent-fixture.js';
import { ackSubject, cellInbox, FakeBus, FakeCell, FakeIsolation, HOST, MemoryKeyStore, stateOf, UNIT_JWT, unitDeps, type Answer } from './unit-fakes.js';

const enc = new TextEncoder();
const CMD = holonSubject(HOST, AGENT_COMMAND_TOKEN);
const JOB = holonSubject(HOST, JOB_COMMAND_TOKEN);
const UNIT = 'acme-ci';
const PROVISION = agentCommand();
const UNIT_PATHS = [UNIT_FILES.holonKey, UNIT_FILES.env, UNIT_FILES.certificate, UNIT_FILES.receipt, UNIT_FILES.creds];

class Crash extends Error {}

/** One agent process over persistent parts: the data dir (store), the units (isolation) and the cell survive a restart. */
function agent(parts: { store?: MemoryKeyStore; isolation?: FakeIsolation; cell?: FakeCell; secrets?: TenantEnvPort | undefined } = {}) {
  const store = parts.store ?? new MemoryKeyStore();
  const isolation = parts.isolation ?? new FakeIsolation();
  const cell = parts.cell ?? new FakeCell();
  const bus = new FakeBus(cell.handle);
  const log = new LogCapture();
  const clock = new ManualClock(T0 + 50_000);
  const manager = new UnitManager(unitDeps({ store, isolation, bus, clock, log: log.logger, ...('secrets' in parts ? { secrets: parts.secrets } : {}) }));
  return { store, isolation, cell, bus, log, clock, manager };
}

type Agent = ReturnType<typeof agent>;

/** Deliver a command with reply subject `reply` (null: none); the answers it got. */
async function command(a: Agent, cmd: AgentCommandV1 | Uint8Array, reply: string | null = ackSubject(), redelivered = false): Promise<Answer[]> {
  const before = a.bus.answers.length;
  a.bus.deliver(CMD, cmd instanceof Uint8Array ? cmd : AgentCommandV1.encode(cmd), reply ?? undefined, redelivered);
  await a.manager.idle();
  return a.bus.answers.slice(before);
}

async function job(a: Agent, cmd: JobCommandV1 | Uint8Array, reply: string | null = cellInbox()): Promise<Answer[]> {
  const before = a.bus.answers.length;
  a.bus.deliver(JOB, cmd instanceof Uint8Array ? cmd : JobCommandV1.encode(cmd), reply ?? undefined);
  await a.manager.idle();
  return a.bus.answers.slice(before);
}

const refusalKinds = (a: Agent): string[] => a.log.lines.filter((l) => l.msg === 'refused a command that does not verify; terminating it' || l.msg === 'job refused').map((l) => String(l.kind));

/** The steps saved to the state file, in order. */
function recordSteps(store: MemoryKeyStore): string[] {
  const steps: string[] = [];
  store.afterReplace = (name, bytes) => {
    if (name === `unit-${UNIT}.json`) steps.push((JSON.parse(new TextDecoder().decode(bytes)) as UnitState).step);
  };
  return steps;
}

void t.test('a provision command runs every step in order, then is acked', async (t) => {
  const a = agent();
  const saved = recordSteps(a.store);
  await a.manager.start();
  t.same(await command(a, PROVISION), [{ kind: 'ack', reply: ackSubject() }], 'acked on its own ack subject');
  t.same(saved, ['RECEIVED', 'CREATED', 'KEYED', 'SECRETS', 'REPORTED', 'DONE'], 'each step persisted once, in order');
  const s = stateOf(a.store)!;
  t.equal(s.step, 'DONE');
  t.equal(a.manager.done, 1);

  // The keys stay on the host, 0600; the unit got its identity, all 0600 and owned by the unit user.
  for (const f of [`unit-${UNIT}.json`, `unit-${UNIT}.key`, `unit-${UNIT}.nk`]) t.equal(a.store.files.get(f)?.mode, 0o600, `${f} is 0600`);
  const files = a.isolation.files.get(UNIT)!;
  t.same([...files.keys()].sort(), [...UNIT_PATHS].sort(), 'the unit holds key, .env, certificate, receipt and creds');
  for (const [path, f] of files) t.match(f, { mode: 0o600, owner: 'unit' }, `${path} 0600, owned by the unit`);
  t.equal(JSON.parse(files.get(UNIT_FILES.holonKey)!.content).holon_id, s.holon_id, 'the holon key written is the reported one');
  t.equal(files.get(UNIT_FILES.env)!.content, 'TOKEN=s3cret\n', 'the tenant .env');
  t.equal(JSON.parse(files.get(UNIT_FILES.certificate)!.content).holon_id, s.holon_id, 'the certificate for that holon');
  t.equal(files.get(UNIT_FILES.receipt)!.content, s.receipt, 'the receipt as the cell sent it');
  t.match(files.get(UNIT_FILES.creds)!.content, UNIT_JWT, 'creds carry the JWT');

  // One report, sealed by the machine, with the proof that the reporter holds the holon key; the same bytes as the event.
  t.equal(a.cell.reports.length, 1, 'reported once');
  const report = a.cell.reports[0]!;
  t.match(report, { event: 'PROVISIONED', unit_name: UNIT, holon_id: s.holon_id, request_digest: PROVISION.request_digest, adapter: 'noop' });
  t.ok(verifyHolonKeyProof(report.request_digest, report.holon_id, report.holon_key_proof!), 'holon_key_proof verifies');
  t.same(a.bus.requests.map((r) => r.subject), [holonSubject(HOST, UNIT_REPORT_TOKEN)]);
  t.same(a.bus.published.map((p) => p.subject), [evtSubject(HOST, 'provisioned')]);
  t.same(a.bus.published[0]!.data, UnitReportV1.encode(report), 'the PROVISIONED event is the report');

  // A redelivery changes nothing and is acked again.
  const calls = a.isolation.calls.length;
  t.same(await command(a, PROVISION, ackSubject(2), true), [{ kind: 'ack', reply: ackSubject(2) }]);
  t.equal(a.isolation.calls.length, calls, 'the adapter was not called for a DONE unit');
  t.equal(a.cell.reports.length, 1, 'not reported again');
  await a.manager.stop();
});

void t.test('without a tenant or a secret store, no .env', async (t) => {
  const { tenant: _tenant, ...withoutTenant } = PROVISION;
  for (const [name, parts, cmd] of [
    ['no tenant', {}, resealed(AgentCommandV1, withoutTenant, SIGNERS.cell)],
    ['no secret store', { secrets: undefined }, PROVISION],
    ['no bucket', { secrets: { resolveEnv: async () => undefined } }, PROVISION],
  ] as const) {
    const a = agent(parts);
    await a.manager.start();
    t.same(await command(a, cmd), [{ kind: 'ack', reply: ackSubject() }], `${name}: acked`);
    t.notOk(a.isolation.files.get(UNIT)!.has(UNIT_FILES.env), `${name}: no .env`);
    await a.manager.stop();
  }
});

void t.test('a failing step stops there and the command is redelivered later (nak with a delay)', async (t) => {
  const a = agent({ secrets: { resolveEnv: () => Promise.reject(new HolonError('HOLON_E_SECRETS', 'secrets(test): bucket unreadable')) } });
  await a.manager.start();
  t.same(await command(a, PROVISION), [{ kind: 'nak', delayMs: COMMAND_RETRY_DELAY_MS, reply: ackSubject() }]);
  t.equal(stateOf(a.store)!.step, 'KEYED', 'fail closed: stopped before SECRETS');
  t.equal(a.cell.reports.length, 0, 'no report, no receipt');
  t.match(a.log.lines.find((l) => l.msg === 'command failed; it will be redelivered'), { err: { code: 'HOLON_E_SECRETS' }, op: 'provision' });
  await a.manager.stop();
});

for (const kept of [true, false]) {
  for (const step of ['RECEIVED', 'CREATED', 'KEYED', 'SECRETS', 'REPORTED'] as const) {
    void t.test(`killed right after ${step} was persisted; restarted with the unit ${kept ? 'kept' : 'lost (noop adapter)'}`, async (t) => {
      const first = agent();
      first.store.afterReplace = (name, bytes) => {
        if (name === `unit-${UNIT}.json` && (JSON.parse(new TextDecoder().decode(bytes)) as UnitState).step === step) throw new Crash(step);
      };
      await first.manager.start();
      await command(first, PROVISION);
      t.equal(stateOf(first.store)!.step, step, `the state file says ${step}`);
      const holon = stateOf(first.store)!.holon_id;
      first.store.afterReplace = undefined;

      // The restart: same data dir, same cell; the units survive (linux, bastille) or not (noop).
      const second = agent({ store: first.store, cell: first.cell, ...(kept ? { isolation: first.isolation } : {}) });
      const saved = recordSteps(second.store);
      await second.manager.start();
      await second.manager.idle();
      t.equal(stateOf(second.store)!.step, 'DONE', 'resumed at start, without waiting for the redelivery');
      t.same(saved, STEP_ORDER.slice(STEP_ORDER.indexOf(step) + 1), 'the steps after the persisted one were persisted, once each');
      t.equal(stateOf(second.store)!.holon_id, holon, 'the same holon');
      t.equal(first.cell.reports.length, 1, 'reported exactly once over both runs');
      t.same([...second.isolation.files.get(UNIT)!.keys()].sort(), [...UNIT_PATHS].sort(), 'the unit has its whole identity');
      t.equal(JSON.parse(second.isolation.files.get(UNIT)!.get(UNIT_FILES.holonKey)!.content).holon_id, holon);
      t.same(await command(second, PROVISION, ackSubject(2), true), [{ kind: 'ack', reply: ackSubject(2) }], 'the redelivered command is acked');
      t.equal(first.cell.reports.length, 1, 'and not reported again');
      await second.manager.stop();
    });
  }
}

void t.test('each step, run twice, changes nothing the second time', async (t) => {
  const store = new MemoryKeyStore();
  const isolation = new FakeIsolation();
  const cell = new FakeCell();
  const bus = new FakeBus(cell.handle);
  const d = unitDeps({ store, isolation, bus, log: new LogCapture().logger });
  const states = new UnitStates(store, nkeys);
  const cmd = PROVISION;
  const keys = await states.keys(UNIT);
  const spec: UnitSpec = { name: UNIT, role: 'BUILD_WORKER', limits: { cpuMillicores: 2000, memoryBytes: 2 * 2 ** 30, pids: 512 }, network: 'egress' };
  const ctx: StepContext = { cmd, spec, keys, d };
  let s: UnitState = { request_digest: cmd.request_digest, unit_name: UNIT, step: 'RECEIVED', holon_id: keys.holonId, nats_user_key: keys.natsPublic, command: new TextDecoder().decode(AgentCommandV1.encode(cmd)) };
  t.same(await states.keys(UNIT), keys, 'the unit keys: made once');
  for (const step of PROVISION_STEPS) {
    t.notOk(step.done(s), `${step.name} is not done before it ran`);
    const once = await step.run(ctx, s);
    const world = isolation.snapshot();
    const twice = await step.run(ctx, once);
    t.same(twice, once, `${step.name}: the same state`);
    t.equal(isolation.snapshot(), world, `${step.name}: the same unit`);
    s = await runSteps([step], ctx, s, states);
    t.equal(s.step, step.name, `${step.name}: recorded`);
    if (step.name === 'REPORTED') t.ok(step.done(s), 'REPORTED: done once the answer is persisted');
  }
  t.same(PROVISION_STEPS.map((x) => x.name), ['CREATED', 'KEYED', 'SECRETS', 'REPORTED', 'DONE']);
  t.equal(cell.reports.length, 3, 'the report step ran twice by hand and once by the runner; the cell answered the same each time');
  t.ok(PROVISION_STEPS.every((x) => x.done(s)), 'every step is done at DONE');
  const calls = isolation.calls.length;
  t.same(await runSteps(PROVISION_STEPS, ctx, s, states), s, 'the runner runs nothing for a DONE unit');
  t.equal(isolation.calls.length, calls);
});

void t.test('destroy: the unit goes, the keys go, a tombstone stays; the old provision command is not re-run', async (t) => {
  const a = agent();
  await a.manager.start();
  await command(a, PROVISION);
  const holon = stateOf(a.store)!.holon_id;
  const destroy = AgentCommandV1.seal(
    { op: 'destroy', request_digest: `sha256:${'ab'.repeat(32)}`, cell_id: cellId(SIGNERS.cell), machine_id: keyId(SIGNERS.machine), unit_name: UNIT, holon_id: holon, issued_at: timeAt(T0 + 90_000) },
    SIGNERS.cell,
  );
  t.same(await command(a, destroy, ackSubject(1, 8)), [{ kind: 'ack', reply: ackSubject(1, 8) }]);
  t.notOk(a.isolation.units.has(UNIT), 'the unit is destroyed');
  t.notOk(a.store.files.has(`unit-${UNIT}.key`) || a.store.files.has(`unit-${UNIT}.nk`), 'its keys are removed');
  t.match(stateOf(a.store), { step: 'DESTROYED', holon_id: holon, receipt: undefined, jwt: undefined }, 'a tombstone without receipt or JWT');
  t.match(a.cell.reports.at(-1), { event: 'DESTROYED', holon_id: holon });
  t.same(await command(a, PROVISION, ackSubject(3), true), [{ kind: 'ack', reply: ackSubject(3) }], 'the redelivered provision command is acked');
  t.notOk(a.isolation.units.has(UNIT), 'and the unit does not come back');
  // The name is free again for another request.
  const next = resealed(AgentCommandV1, { ...PROVISION, request_digest: `sha256:${'cd'.repeat(32)}` as const }, SIGNERS.cell);
  t.same(await command(a, next, ackSubject(1, 9)), [{ kind: 'ack', reply: ackSubject(1, 9) }]);
  t.not(stateOf(a.store)!.holon_id, holon, 'a new holon in the freed name');
  // A different request for a running unit's name is refused until it goes (nak: redelivered later).
  const other = resealed(AgentCommandV1, { ...PROVISION, request_digest: `sha256:${'ef'.repeat(32)}` as const }, SIGNERS.cell);
  t.same(await command(a, other, ackSubject(1, 10)), [{ kind: 'nak', delayMs: COMMAND_RETRY_DELAY_MS, reply: ackSubject(1, 10) }]);
  await a.manager.stop();
});

void t.test('freeze, thaw, and a graceful destroy of a frozen unit: thaw, SIGTERM inside, then destroy', async (t) => {
  const a = agent();
  await a.manager.start();
  await command(a, PROVISION);
  const holon = stateOf(a.store)!.holon_id;
  const op = (o: 'freeze' | 'thaw' | 'destroy', n: number, extra: object = {}): AgentCommandV1 =>
    AgentCommandV1.seal({ op: o, request_digest: `sha256:${String(n).repeat(64)}`, cell_id: cellId(SIGNERS.cell), machine_id: keyId(SIGNERS.machine), unit_name: UNIT, holon_id: holon, issued_at: timeAt(T0 + 90_000), ...extra }, SIGNERS.cell);
  t.same(await command(a, op('freeze', 1), ackSubject(1, 11)), [{ kind: 'ack', reply: ackSubject(1, 11) }]);
  t.equal(a.isolation.units.get(UNIT)?.status, 'frozen', 'frozen');
  t.same(await command(a, op('thaw', 2), ackSubject(1, 12)), [{ kind: 'ack', reply: ackSubject(1, 12) }]);
  t.equal(a.isolation.units.get(UNIT)?.status, 'running', 'thawed');
  await command(a, op('freeze', 3), ackSubject(1, 13));
  const from = a.isolation.calls.length;
  t.same(await command(a, op('destroy', 4, { grace_ms: 1000 }), ackSubject(1, 14)), [{ kind: 'ack', reply: ackSubject(1, 14) }]);
  t.same(a.isolation.calls.slice(from), [`thaw ${UNIT}`, `terminate ${UNIT}`, `destroy ${UNIT}`], 'thawed so it can act on SIGTERM, signalled from the host side, then destroyed');
  t.same(await command(a, op('freeze', 5), ackSubject(1, 15)), [{ kind: 'ack', reply: ackSubject(1, 15) }], 'a freeze for a unit that is gone is a no-op, acked');
  await a.manager.stop();
});

void t.test('the command handler refuses what does not verify: terminated, never run', async (t) => {
  const tampered = { ...PROVISION, unit_name: 'other-unit' };
  const foreignCell = resealed(AgentCommandV1, { ...PROVISION, cell_id: cellId(SIGNERS.witness) }, SIGNERS.witness);
  const cases: [string, Uint8Array, string][] = [
    ['not JSON', enc.encode('{"op": "provision",'), 'command:HOLON_E_MALFORMED'],
    ['an unknown field', enc.encode(JSON.stringify({ ...PROVISION, extra: 1 })), 'command:HOLON_E_MALFORMED'],
    ['a bad seal', AgentCommandV1.encode(tampered), 'command:HOLON_E_BAD_SEAL'],
    ['another cell', AgentCommandV1.encode(foreignCell), 'command:HOLON_E_BAD_SEAL'],
    ['another machine', AgentCommandV1.encode(resealed(AgentCommandV1, { ...PROVISION, machine_id: keyId(SIGNERS.provider) }, SIGNERS.cell)), 'command:HOLON_E_UNIT_COMMAND'],
  ];
  for (const [name, bytes, kind] of cases) {
    const a = agent();
    await a.manager.start();
    t.same(await command(a, bytes), [{ kind: 'term', reply: ackSubject() }], `${name}: terminated`);
    t.same(refusalKinds(a), [kind], `${name}: logged as ${kind}`);
    t.same(a.isolation.calls, [], `${name}: the adapter was not touched`);
    t.same([a.bus.requests.length, a.bus.published.length, a.manager.done], [0, 0, 0], `${name}: nothing reported`);
    t.equal(a.store.files.size, 0, `${name}: nothing persisted`);
    // Under any reply subject but this machine's own ack prefix, nothing is answered at all.
    for (const reply of [null, `$JS.ACK.CMD.agent-other.1.1.1.1.0`, cellInbox(), '$JS.API.STREAM.PURGE.CMD']) {
      t.same(await command(a, bytes, reply), [], `${name}, reply ${String(reply)}: no answer`);
    }
    await a.manager.stop();
  }
});

void t.test('the job handler: runs a pinned job in a running unit, refuses everything else', async (t) => {
  const a = agent();
  await a.manager.start();
  await command(a, PROVISION);
  const holon = stateOf(a.store)!.holon_id;
  await a.isolation.writeFile(UNIT, { path: 'home/unit/build.sh', content: '#!/bin/sh\necho built\nexit 3\n', mode: 0o755, owner: 'unit' });
  const ok = resealed(JobCommandV1, { ...jobCommand(), holon_id: holon }, SIGNERS.cell);

  const [answer, ...more] = await job(a, ok);
  t.same(more, []);
  t.equal(answer?.reply, cellInbox(), 'answered into the cell inbox');
  const result = JobResultV1.decode(answer!.data!);
  JobResultV1.verify(result, keyId(SIGNERS.machine));
  t.match(result, { outcome: 'EXITED', exit_code: 3, holon_id: holon, job_id: ok.job_id, stdout_bytes: 6 });
  t.same(
    a.bus.published.filter((p) => p.subject === holonSubject(HOST, JOB_OUTPUT_TOKEN, ok.job_id)).map((p) => JSON.parse(new TextDecoder().decode(p.data))),
    [{ stream: 'stdout', seq: 0, data: Buffer.from('built\n').toString('base64') }],
    'output streamed on the job output subject',
  );

  const refusals: [string, JobCommandV1 | Uint8Array, string][] = [
    ['not JSON', enc.encode('[1,'), 'HOLON_E_MALFORMED'],
    ['a bad seal', { ...ok, argv: ['/bin/sh', '-c', 'id'] }, 'HOLON_E_BAD_SEAL'],
    ['another cell', resealed(JobCommandV1, { ...ok, cell_id: cellId(SIGNERS.witness) }, SIGNERS.witness), 'HOLON_E_BAD_SEAL'],
    ['another machine', resealed(JobCommandV1, { ...ok, machine_id: keyId(SIGNERS.provider) }, SIGNERS.cell), 'HOLON_E_UNIT_COMMAND'],
    ['a unit that does not exist', resealed(JobCommandV1, { ...ok, unit_name: 'no-such-unit' }, SIGNERS.cell), 'HOLON_E_UNIT_COMMAND'],
    ['a unit of another holon', resealed(JobCommandV1, { ...ok, holon_id: convertId(keyId(SIGNERS.child), 'holon') }, SIGNERS.cell), 'HOLON_E_UNIT_COMMAND'],
  ];
  for (const [name, cmd, code] of refusals) {
    const execs = a.isolation.calls.filter((c) => c.startsWith('exec')).length;
    const [r, ...rest] = await job(a, cmd);
    t.same(rest, [], `${name}: one answer`);
    t.equal(r?.kind, 'respond', `${name}: answered`);
    t.equal(r?.reply, cellInbox(), `${name}: into the cell inbox`);
    const refusal = RefusalV1.decode(r!.data!);
    RefusalV1.verify(refusal, keyId(SIGNERS.machine));
    t.equal(refusal.code, code, `${name}: refused ${code}, sealed by the machine`);
    t.equal(refusalKinds(a).at(-1), `job:${code}`, `${name}: logged`);
    t.equal(a.isolation.calls.filter((c) => c.startsWith('exec')).length, execs, `${name}: nothing ran`);
  }

  // A unit that is not running yet (its provisioning stopped before DONE).
  const half = agent({ secrets: { resolveEnv: () => Promise.reject(new Error('unreadable')) } });
  await half.manager.start();
  await command(half, PROVISION);
  const notRunning = resealed(JobCommandV1, { ...ok, holon_id: stateOf(half.store)!.holon_id }, SIGNERS.cell);
  const [r] = await job(half, notRunning);
  t.equal(RefusalV1.decode(r!.data!).code, 'HOLON_E_UNIT_COMMAND', 'a unit not yet DONE: refused');
  t.same(half.isolation.calls.filter((c) => c.startsWith('exec')), [], 'and nothing ran');
  await half.manager.stop();

  // A job whose reply subject is not the cell's inbox is not run, and nothing is answered anywhere.
  for (const reply of [null, '_INBOX.someone-else.1', ackSubject(), `${cellInbox()}.a.b.c.d.e.f.g.h`]) {
    const execs = a.isolation.calls.filter((c) => c.startsWith('exec')).length;
    t.same(await job(a, ok, reply), [], `reply ${String(reply)}: no answer`);
    t.equal(a.isolation.calls.filter((c) => c.startsWith('exec')).length, execs, `reply ${String(reply)}: not run`);
    t.equal(refusalKinds(a).at(-1), 'job:HOLON_E_UNIT_COMMAND', `reply ${String(reply)}: logged`);
  }
  t.match(a.log.lines.filter((l) => l.msg === 'job refused').at(-1), { reply_allowed: false, err: { message: /not the cell's inbox; job not run/ } });
  await a.manager.stop();
});

void t.test('refusals are logged within a budget', async (t: Test) => {
  const a = agent();
  await a.manager.start();
  for (let i = 0; i < 50; i++) await command(a, enc.encode('nope'));
  t.equal(a.bus.answers.length, 50, 'every one terminated');
  t.equal(refusalKinds(a).length, 5, 'but only the first 5 logged in full');
  a.clock.advance(10_000);
  await a.manager.stop();
  t.match(a.log.lines.at(-1), { msg: 'repeated refusals summarized', suppressed: { 'command:HOLON_E_MALFORMED': 45 }, total: 50 });
});
