/**
 * The machine state machine, table-driven: every transition the service
 * makes, the ones it must refuse, and replay determinism (the same events
 * give the same records, however often they are replayed).
 */
import t from 'tap';
import { encodeId, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed } from '../../bus-schemas/keys.js';
import { HolonCertificateV1 } from '../../bus-schemas/v1/holon-certificate.js';
import type { MachineEvent } from '../../orchestrator/machine-events.js';
import { eventBody, parseMachineEvent } from '../../orchestrator/machine-events.js';
import { applyMachineEvent, enrollmentDue, replayMachineEvents, type MachineRecord, type RegistryState } from '../../orchestrator/machine-registry.js';
import { issueHostCertificate } from '../../orchestrator/enrollment.js';
import { CellCertificateV1 } from '../../bus-schemas/v1/cell-certificate.js';
import { refuses } from '../helpers/refuses.js';

const T0 = 1_700_000_000_000;
const cellSigner = signerFromSeed(generateEd25519().seed);
const principal = signerFromSeed(generateEd25519().seed);
const cellCert = CellCertificateV1.seal(
  {
    cell_id: encodeId('cell', cellSigner.publicKey),
    name: 'test',
    principal_key: encodeId('key', principal.publicKey),
    not_before: T0 - 1,
    not_after: T0 + 365 * 86_400_000,
    allowed_roles: ['HOST'],
  },
  principal,
);
const M: PublicKeyIdV1 = encodeId('key', signerFromSeed(generateEd25519().seed).publicKey);
const D = (n: number): `sha256:${string}` => `sha256:${n.toString(16).padStart(64, '0')}`;
const NATS = 'U' + 'A'.repeat(55);
const EK = D(99);

const ev = {
  challenged: (ek: string | undefined = EK): MachineEvent => ({
    kind: 'MACHINE_CHALLENGED',
    machine_id: M,
    hello_digest: D(1),
    software_only: ek === undefined,
    ...(ek !== undefined ? { ek_hash: ek as `sha256:${string}`, ek_trusted_by: 'certificate' as const } : {}),
    nats_user_key: NATS,
    expires_at: T0 + 60_000,
  }),
  attested: (): MachineEvent => ({ kind: 'MACHINE_ATTESTED', machine_id: M, attest_digest: D(2), quote_digest: D(3), pcr: { bank: 'sha256', pcrs: [0], values: ['00'.repeat(32)] } }),
  refused: (code = 'HOLON_E_BOOT_ACTIVATION'): MachineEvent => ({ kind: 'MACHINE_REFUSED', machine_id: M, step: 'attest', code, reason: 'because' }),
  approved: (expiresAt = T0 + 3_600_000): MachineEvent => ({ kind: 'MACHINE_APPROVED', machine_id: M, source: 'principal', approval_digest: D(4), approval_nonce: 'n'.repeat(43), expires_at: expiresAt }),
  enrolled: (serial = 1): MachineEvent => {
    const certificate = issueHostCertificate({ machineId: M, cell: { signer: cellSigner, certificate: cellCert }, serial, delegationDigest: D(4), now: T0, validityMs: 86_400_000 });
    return { kind: 'MACHINE_ENROLLED', machine_id: M, serial, certificate_digest: HolonCertificateV1.digest(certificate), certificate };
  },
};

function run(events: MachineEvent[], step = 1000): MachineRecord {
  let r: MachineRecord | undefined;
  events.forEach((e, i) => (r = applyMachineEvent(r, e, T0 + i * step)));
  return r as MachineRecord;
}

void t.test('transitions: the paths a machine takes', async (t) => {
  const table: { name: string; events: MachineEvent[]; state: RegistryState; refusal?: string; enrolled?: boolean }[] = [
    { name: 'hello', events: [ev.challenged()], state: 'CHALLENGED' },
    { name: 'hello, attest', events: [ev.challenged(), ev.attested()], state: 'ATTESTED' },
    { name: 'approve after attest, enroll', events: [ev.challenged(), ev.attested(), ev.approved(), ev.enrolled()], state: 'ENROLLED', enrolled: true },
    { name: 'approve before hello, enroll', events: [ev.approved(), ev.challenged(), ev.attested(), ev.enrolled()], state: 'ENROLLED', enrolled: true },
    { name: 'refused at attest', events: [ev.challenged(), ev.refused()], state: 'REFUSED', refusal: 'HOLON_E_BOOT_ACTIVATION' },
    { name: 'refused, hello again clears the refusal', events: [ev.challenged(), ev.refused(), ev.challenged()], state: 'CHALLENGED' },
    { name: 'not approved keeps ATTESTED', events: [ev.challenged(), ev.attested(), ev.refused('HOLON_E_BOOT_NOT_APPROVED')], state: 'ATTESTED', refusal: 'HOLON_E_BOOT_NOT_APPROVED' },
    {
      name: 're-bootstrap of an enrolled machine stays ENROLLED',
      events: [ev.challenged(), ev.attested(), ev.approved(), ev.enrolled(), ev.challenged(), ev.attested()],
      state: 'ENROLLED',
      enrolled: true,
    },
    { name: 'a refusal of an enrolled machine keeps it enrolled', events: [ev.challenged(), ev.attested(), ev.approved(), ev.enrolled(), ev.refused()], state: 'ENROLLED', refusal: 'HOLON_E_BOOT_ACTIVATION', enrolled: true },
    { name: 'software-only', events: [ev.challenged(undefined), ev.attested()], state: 'ATTESTED' },
  ];
  for (const row of table) {
    const r = run(row.events);
    t.equal(r.state, row.state, `${row.name}: state`);
    t.equal(r.refusal?.code, row.refusal, `${row.name}: refusal`);
    t.equal(r.certificate !== null, row.enrolled === true, `${row.name}: certificate`);
  }
  const enrolled = run([ev.challenged(), ev.attested(), ev.approved(), ev.enrolled(), ev.challenged(), ev.attested()]);
  t.equal(enrolled.certificate?.serial, 1, 'the re-bootstrap keeps the one certificate');
  t.equal(enrolled.since, T0 + 3000, 'since = when it became ENROLLED');
});

void t.test('transitions the state machine refuses', async (t) => {
  const illegal: { name: string; events: MachineEvent[] }[] = [
    { name: 'attest without a challenge', events: [ev.attested()] },
    { name: 'enroll without approval', events: [ev.challenged(), ev.attested(), ev.enrolled()] },
    { name: 'enroll before attest', events: [ev.approved(), ev.challenged(), ev.enrolled()] },
    { name: 'enroll twice', events: [ev.challenged(), ev.attested(), ev.approved(), ev.enrolled(), ev.enrolled(2)] },
    { name: 'approve an enrolled machine', events: [ev.challenged(), ev.attested(), ev.approved(), ev.enrolled(), ev.approved()] },
    { name: 'enrolled machine with another EK', events: [ev.challenged(), ev.attested(), ev.approved(), ev.enrolled(), ev.challenged(D(77))] },
    { name: 'enroll on an expired approval', events: [ev.challenged(), ev.attested(), ev.approved(T0 + 1500), ev.enrolled()] },
  ];
  for (const row of illegal) refuses(t, () => run(row.events), { code: 'HOLON_E_REGISTRY_TRANSITION' }, row.name);
});

void t.test('enrollmentDue: attested with a live approval', async (t) => {
  const attested = run([ev.challenged(), ev.attested()]);
  t.equal(enrollmentDue(attested, T0 + 5000), false, 'no approval');
  const approved = applyMachineEvent(attested, ev.approved(T0 + 10_000), T0 + 5000);
  t.equal(enrollmentDue(approved, T0 + 5000), true);
  t.equal(enrollmentDue(approved, T0 + 10_001), false, 'approval expired');
});

void t.test('replay determinism: same events, same records; ledger body round trip', async (t) => {
  const events = [ev.approved(), ev.challenged(), ev.refused(), ev.challenged(), ev.attested(), ev.enrolled(), ev.challenged(), ev.attested()];
  const timed = events.map((event, i) => ({ event, at: T0 + i * 777 }));
  const a = replayMachineEvents(timed);
  const b = replayMachineEvents(timed);
  t.same([...a.values()], [...b.values()]);
  // Through the ledger form (kind + body) and back: the same record.
  const viaLedger = timed.map(({ event, at }) => ({ event: parseMachineEvent(event.kind, JSON.parse(JSON.stringify(eventBody(event)))), at }));
  t.same([...replayMachineEvents(viaLedger).values()], [...a.values()]);
  t.equal(a.get(M)?.state, 'ENROLLED');
  refuses(t, () => parseMachineEvent('MACHINE_REFUSED', { machine_id: M, step: 'attest', code: 'nope', reason: 'x' }), { code: 'HOLON_E_MALFORMED', path: '$.body.code' });
});
