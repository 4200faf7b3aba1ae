/**
 * The adaptive difficulty wired into the cell: the orchestrator's
 * BootstrapService (real SQLite store in memory, fake ledger and minter,
 * manual clock) asks for more bits while hellos flood in, tells each refused
 * agent what it wants now, logs the change, and falls back when quiet. With
 * `admission_mode: vdf` it asks for the VDF and refuses hashcash, naming the
 * field.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { SqliteMachineStore } from '../../adapters/sqlite/machine-store.js';
import type { AdmissionRequirement } from '../../bus-schemas/admission/requirement.js';
import { makeHello } from '../../bus-schemas/bootstrap/agent-side.js';
import { BootstrapError } from '../../bus-schemas/bootstrap/bootstrap-error.js';
import { ManualClock } from '../../bus-schemas/clock.js';
import type { Signer } from '../../bus-schemas/keys.js';
import { PolicyV1 } from '../../bus-schemas/v1/policy.js';
import { BootstrapService } from '../../orchestrator/bootstrap-service.js';
import type { CellMaterial } from '../../orchestrator/cell-material.js';
import { parseOrchestratorConfig } from '../../orchestrator/config.js';
import type { MachineRecord } from '../../orchestrator/machine-registry.js';
import { captureLogger } from '../bus/bus-fixture.js';
import { helloBody, keyOf, makeAuthority, newSigner } from '../bootstrap/fixtures.js';

const MINUTE = 60_000;
const EPOCH_MS = 3_600_000;

function cellService(policyFields: Partial<PolicyV1>) {
  const clock = new ManualClock(1_700_000_000_000 - (1_700_000_000_000 % MINUTE));
  const auth = makeAuthority(clock.now());
  const policy = PolicyV1.seal(
    {
      serial: 1,
      principal_key: keyOf(auth.principal),
      issued_at: clock.now(),
      tpm: 'optional',
      tpm_required_roles: [],
      pcr_golden: [],
      preapproved_eks: [],
      denied_jurisdictions: [],
      admission_difficulty: 4,
      nonce_lifetime_ms: 60_000,
      ...policyFields,
    },
    auth.principal,
  );
  const cell: CellMaterial = {
    signer: auth.cell,
    cellId: auth.certificate.cell_id,
    cellKey: keyOf(auth.cell),
    certificate: auth.certificate,
    policy,
    principalKey: keyOf(auth.principal),
    principalPinned: true,
    ekRoots: [],
    ekIntermediates: [],
    accountSeed: '',
    accountSigningSeed: '',
  };
  const entries: string[] = [];
  const { logger, lines } = captureLogger('info');
  const service = new BootstrapService({
    store: new SqliteMachineStore<MachineRecord>(':memory:'),
    ledger: {
      prepare: async (_owner, kind) => {
        entries.push(kind);
        return { id: randomUUID(), text: kind };
      },
      commit: async () => undefined,
    },
    minter: { mintHostUser: async () => 'jwt' },
    cell,
    config: parseOrchestratorConfig(JSON.stringify({ data_dir: '/nonexistent', nats: { servers: ['nats://127.0.0.1:4222'] } }), 'orchestrator.json'),
    clock,
    logger,
  });
  return { service, clock, entries, lines };
}

/** An agent that follows the cell's requirement: try `guess`, solve again as told when refused. */
async function admitted(service: BootstrapService, clock: ManualClock, guess: AdmissionRequirement, machine: Signer = newSigner()): Promise<AdmissionRequirement> {
  let required = guess;
  for (let i = 0; i < 4; i++) {
    try {
      await service.hello(makeHello(machine, helloBody(), { now: clock.now(), admission: required }));
      return required;
    } catch (e) {
      if (!(e instanceof BootstrapError) || e.admissionRequired === undefined) throw e;
      required = e.admissionRequired;
    }
  }
  throw new Error('not admitted after 4 tries');
}

void t.test('hashcash: 5× the normal rate costs 2 more bits, refusals say so, quiet brings the base back', async (t) => {
  const { service, clock, entries, lines } = cellService({ admission_normal_rate: 2 });
  const epoch = (): number => Math.floor(clock.now() / EPOCH_MS);
  const base: AdmissionRequirement = { kind: 'hashcash', epoch: epoch(), difficulty: 4 };
  t.same(await admitted(service, clock, base), base, 'quiet: the base difficulty is enough');

  let last: AdmissionRequirement = base;
  for (let i = 0; i < 20; i++) {
    last = await admitted(service, clock, last); // 10 distinct machines a minute for two minutes
    clock.advance(6_000);
  }
  t.same(last, { kind: 'hashcash', epoch: epoch(), difficulty: 6 }, '5× normal → floor(log2 5) = 2 extra bits');
  t.ok(
    lines.some((l) => l.includes('"msg":"admission: asking for hashcash of 6 bits over epoch')),
    'the operator sees the change in the log',
  );

  const before = entries.length;
  const e = await service.hello(makeHello(newSigner(), helloBody(), { now: clock.now(), admission: base })).then(
    () => undefined,
    (x: unknown) => x,
  );
  t.match(e, { code: 'HOLON_E_BOOT_ADMISSION', path: '$.admission.difficulty', admissionRequired: { kind: 'hashcash', difficulty: 6 } }, 'a base-difficulty hello is refused with the new requirement');
  t.equal(entries.length, before, 'admission refusals are not written to the ledger');

  clock.advance(2 * MINUTE);
  t.same(await admitted(service, clock, base), { ...base, epoch: epoch() }, 'two quiet minutes: the base is enough again');
});

void t.test('vdf mode: hashcash refused naming the kind, the VDF admitted', async (t) => {
  const { service, clock } = cellService({ admission_mode: 'vdf', admission_vdf_iterations: 512 });
  const epoch = Math.floor(clock.now() / EPOCH_MS);
  const e = await service.hello(makeHello(newSigner(), helloBody(), { now: clock.now(), admission: { kind: 'hashcash', epoch, difficulty: 4 } })).then(
    () => undefined,
    (x: unknown) => x,
  );
  t.match(e, { code: 'HOLON_E_BOOT_ADMISSION', path: '$.admission.kind', admissionRequired: { kind: 'vdf', epoch, iterations: 512 } });
  t.same(await admitted(service, clock, { kind: 'vdf', epoch, iterations: 512 }), { kind: 'vdf', epoch, iterations: 512 });
});
