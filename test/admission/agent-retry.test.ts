/**
 * The agent learns the admission it owes from the cell: its BootstrapClient
 * (real key store on disk, real state machine) talks to an in-memory cell
 * built from the real cell half. The cell refuses a hello whose proof is too
 * weak, stale or of the wrong kind, naming what it requires; the agent
 * solves again at that epoch and difficulty (or the VDF) and gets its
 * challenge — unless the cell asks for more than the agent's caps, or keeps
 * raising the bar, when it gives up and records why.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BootstrapClient, MAX_ADMISSION_RETRIES, type AgentAdmission } from '../../agent/bootstrap-client.js';
import { BusUnavailableError, type AgentBus } from '../../agent/bus-port.js';
import { FsKeyStore } from '../../agent/fs-key-store.js';
import { loadOrCreateMachineKey, loadOrCreateNatsKey } from '../../agent/machine-key.js';
import { AGENT_FILES } from '../../agent/key-store.js';
import type { AdmissionRequirement } from '../../bus-schemas/admission/requirement.js';
import { checkHello, makeChallenge } from '../../bus-schemas/bootstrap/cell-side.js';
import { systemClock } from '../../bus-schemas/clock.js';
import { API_SUBJECTS } from '../../bus-schemas/subjects.js';
import { BootstrapChallengeV1 } from '../../bus-schemas/v1/bootstrap-challenge.js';
import { BootstrapHelloV1 } from '../../bus-schemas/v1/bootstrap-hello.js';
import { RefusalV1, sealRefusal } from '../../bus-schemas/v1/refusal.js';
import { LogCapture, nkeys, sampleProbes } from '../agent/agent-fixture.js';
import { basePolicy, keyOf, makeAuthority } from '../bootstrap/fixtures.js';

const CAPS: AgentAdmission = { difficulty: 2, maxDifficulty: 10, maxVdfIterations: 1000 };

interface Run {
  hellos: BootstrapHelloV1['admission'][];
  outcome: unknown;
  log: LogCapture;
  state: unknown;
}

/** Run the agent's bootstrap against a cell that asks `requirementFor(n)` of the n-th hello; stop at the attest. */
async function bootstrapAgainst(t: Test, requirementFor: (n: number) => AdmissionRequirement, caps: AgentAdmission = CAPS): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'holonet-admission-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = new FsKeyStore(join(dir, 'agent'));
  await store.prepare();
  const machine = await loadOrCreateMachineKey(store);
  const natsKey = (await loadOrCreateNatsKey(store, nkeys)).key;
  const auth = makeAuthority(Date.now());
  const policy = basePolicy();
  const controller = new AbortController();
  const hellos: Run['hellos'] = [];
  const cell: AgentBus = {
    request: async (subject, data) => {
      if (subject === API_SUBJECTS.bootstrapHello) {
        const hello = BootstrapHelloV1.decode(data);
        hellos.push(hello.admission);
        const now = Date.now();
        try {
          const facts = checkHello(hello, policy, { now, admission: requirementFor(hellos.length) });
          return BootstrapChallengeV1.encode(makeChallenge(hello, facts, { signer: auth.cell, certificate: auth.certificate }, policy, { now }).challenge);
        } catch (e) {
          return RefusalV1.encode(sealRefusal(e, { signer: auth.cell, at: { unix_ms: now, source: 'SYSTEM' } }));
        }
      }
      // The attest: the admission part is done; stop the agent here.
      controller.abort(new Error('test: stop at the attest'));
      throw new BusUnavailableError(subject, 'stopped by the test');
    },
    publish: () => undefined,
    subscribe: () => ({ unsubscribe: () => undefined }),
    flush: async () => undefined,
    close: async () => undefined,
  };
  const log = new LogCapture();
  const client = new BootstrapClient({
    store,
    machine,
    natsKey,
    nkeys,
    connect: async () => cell,
    probes: sampleProbes,
    tpm: { port: undefined, policy: 'off' },
    pinnedRoots: [keyOf(auth.principal)],
    admission: caps,
    requestTimeoutMs: 1000,
    pollInitialMs: 10,
    pollMaxMs: 10,
    clock: systemClock,
    log: log.logger,
    signal: controller.signal,
    sleep: async () => undefined,
  });
  const outcome = await client.run().then(
    () => 'enrolled',
    (e: unknown) => e,
  );
  const file = await store.read(AGENT_FILES.state);
  return { hellos, outcome, log, state: file === undefined ? undefined : JSON.parse(new TextDecoder().decode(file.bytes)) };
}

void t.test('a stronger hashcash at the cell’s own epoch: the agent solves again and gets in', async (t) => {
  const wanted: AdmissionRequirement = { kind: 'hashcash', epoch: 123_456, difficulty: 8 };
  const run = await bootstrapAgainst(t, () => wanted);
  t.match(run.outcome, { message: 'test: stop at the attest' }, 'reached the attest');
  t.equal(run.hellos.length, 2);
  t.match(run.hellos[0], { difficulty: 2 }, 'the first hello is the configured guess');
  t.not(run.hellos[0]?.epoch, 123_456, 'with the agent’s own hour-based epoch');
  t.match(run.hellos[1], { epoch: 123_456, difficulty: 8 }, 'the second is at the epoch and difficulty the cell named');
  t.ok(run.log.messages().includes('the cell asks for hashcash of 8 bits over epoch 123456; solving again'));
  t.match(run.state, { state: 'CHALLENGE_VERIFIED' });
});

void t.test('a cell that requires the VDF: the agent answers with a VDF proof', async (t) => {
  const run = await bootstrapAgainst(t, () => ({ kind: 'vdf', epoch: 99, iterations: 600 }));
  t.match(run.outcome, { message: 'test: stop at the attest' });
  t.equal(run.hellos.length, 2);
  t.equal(run.hellos[0]?.kind, undefined, 'first a hashcash guess');
  t.match(run.hellos[1], { kind: 'vdf', epoch: 99, iterations: 600 });
});

void t.test('more than the agent’s cap: it refuses to spin, records why, sends nothing more', async (t) => {
  const hashcash = await bootstrapAgainst(t, () => ({ kind: 'hashcash', epoch: 5, difficulty: 30 }));
  t.match(hashcash.outcome, {
    code: 'HOLON_E_BOOT_ADMISSION',
    reason: 'the cell asks for hashcash of 30 bits over epoch 5; this agent solves at most 10 bits (admission_max_difficulty)',
  });
  t.equal(hashcash.hellos.length, 1);
  t.match(hashcash.state, { state: 'REFUSED', refusal: { by: 'agent', code: 'HOLON_E_BOOT_ADMISSION' } });
  const vdf = await bootstrapAgainst(t, () => ({ kind: 'vdf', epoch: 5, iterations: 100_000 }));
  t.match(vdf.outcome, { code: 'HOLON_E_BOOT_ADMISSION', reason: /at most 1000 squarings \(admission_max_vdf_iterations\)/ });
  t.equal(vdf.hellos.length, 1);
});

void t.test('a cell that keeps raising the bar: the agent gives up after a few rounds', async (t) => {
  const run = await bootstrapAgainst(t, (n) => ({ kind: 'hashcash', epoch: 5, difficulty: 2 + n }));
  t.equal(run.hellos.length, 1 + MAX_ADMISSION_RETRIES);
  t.match(run.outcome, { code: 'HOLON_E_AGENT_REFUSED', cellCode: 'HOLON_E_BOOT_ADMISSION' });
  t.match(run.state, { state: 'REFUSED', refusal: { by: 'cell', code: 'HOLON_E_BOOT_ADMISSION' } });
});
