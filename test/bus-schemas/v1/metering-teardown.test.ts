import t from 'tap';
import { SealError } from '../../../bus-schemas/errors.js';
import { findV1Object, isSealedWireType, V1_OBJECTS } from '../../../bus-schemas/v1/registry.js';
import { ResourceMeteringEventV1 } from '../../../bus-schemas/v1/resource-metering-event.js';
import { TeardownReceiptV1 } from '../../../bus-schemas/v1/teardown-receipt.js';
import { TeardownRequestV1 } from '../../../bus-schemas/v1/teardown-request.js';
import { refusesExactly as refuses } from './refuses-exactly.js';
import { cellId, keyId, resealed, resourceMeteringEvent, SIGNERS, teardownReceipt, teardownRequest } from './samples.js';

void t.test('metering: consumed and remaining describe one budget, sealed by the measuring machine', async (t) => {
  const e = resourceMeteringEvent();
  ResourceMeteringEventV1.verify(e, e.machine_id);
  refuses(t, () => ResourceMeteringEventV1.parse({ ...e, remaining: { ...e.remaining, valid_until: { unix_ms: 1, source: 'SYSTEM' } } }), {
    path: '$.remaining.valid_until',
    reason: 'differs from consumed.valid_until',
  });
  refuses(t, () => ResourceMeteringEventV1.parse({ ...e, remaining: { ...e.remaining, valid_until: { ...e.remaining.valid_until, source: 'NTP' } } }), {
    path: '$.remaining.valid_until',
    reason: 'differs from consumed.valid_until',
  });
  refuses(t, () => ResourceMeteringEventV1.parse({ ...e, consumed: { ...e.consumed, on_exhaustion: 'FREEZE' } }), {
    path: '$.remaining.on_exhaustion',
    reason: 'differs from consumed.on_exhaustion',
  });
  refuses(t, () => ResourceMeteringEventV1.parse(resealed(ResourceMeteringEventV1, e, SIGNERS.child)), {
    path: '$.metering_seal.key',
    reason: 'not sealed by machine_id',
  });
  refuses(t, () => ResourceMeteringEventV1.parse({ ...e, sequence: -1 }), { path: '$.sequence', reason: 'integer below minimum 0' });
  refuses(t, () => ResourceMeteringEventV1.verify({ ...e, sequence: e.sequence + 1 }), SealError, 'the batch number is sealed');
});

void t.test('teardown request: always sealed', async (t) => {
  const r = teardownRequest();
  TeardownRequestV1.verify(r, keyId(SIGNERS.cell));
  const { principal_seal: _s, ...unsealed } = r;
  refuses(t, () => TeardownRequestV1.parse(unsealed), { path: '$.principal_seal', reason: 'required field missing' });
  refuses(t, () => TeardownRequestV1.verify(unsealed as never), SealError);
  refuses(t, () => TeardownRequestV1.parse({ ...r, reason: 'BORED' }), { path: '$.reason' });
  refuses(t, () => TeardownRequestV1.parse({ ...r, evidence_replication_target: keyId(SIGNERS.witness) }), {
    path: '$.evidence_replication_target',
    reason: 'expected a cell1… id, got hkey1…',
  });
});

void t.test('teardown receipt: only after replication to another cell, sealed by the cell', async (t) => {
  const r = teardownReceipt();
  TeardownReceiptV1.verify(r, keyId(SIGNERS.cell));
  refuses(t, () => TeardownReceiptV1.parse({ ...r, evidence_replicated: false }), { path: '$.evidence_replicated', reason: 'expected true' });
  const sameCell = { ...r, replication_proof: { ...r.replication_proof, witness_cell: cellId(SIGNERS.cell) } };
  refuses(t, () => TeardownReceiptV1.parse(sameCell), {
    path: '$.replication_proof.witness_cell',
    reason: 'evidence must be replicated to another cell',
  });
  refuses(t, () => TeardownReceiptV1.parse(resealed(TeardownReceiptV1, r, SIGNERS.witness)), {
    path: '$.cell_seal.key',
    reason: 'not sealed by the key of cell_id',
  });
  refuses(t, () => TeardownReceiptV1.parse({ ...r, replication_proof: { ...r.replication_proof, leaf_indices: [1, 0] } }), {
    path: '$.replication_proof.leaf_indices[1]',
    reason: 'indices must be strictly ascending',
  });
  const { cell_seal: _c, ...body } = r;
  refuses(t, () => TeardownReceiptV1.parse(body), { path: '$.cell_seal', reason: 'required field missing' });
});

void t.test('registry: lookup and sealed objects', async (t) => {
  t.equal(findV1Object('TeardownReceiptV1'), TeardownReceiptV1);
  t.equal(findV1Object('NoSuchV1'), undefined);
  t.ok(isSealedWireType(TeardownReceiptV1));
  t.notOk(isSealedWireType(findV1Object('ResourceBudgetV1') as never));
  for (const w of V1_OBJECTS) t.ok(w.maxBytes > 0 && Number.isSafeInteger(w.maxBytes), `${w.name} has a byte limit`);
});

void t.test('byte limits: an object can always carry its largest parts', async (t) => {
  const limit = (name: string): number => (findV1Object(name) as { maxBytes: number }).maxBytes;
  const parts: [string, [string, number][]][] = [
    ['MachineAttestationV1', [['PlatformReportV1', 1], ['TpmQuoteV1', 1], ['JurisdictionAttestationV1', 1], ['ResourceCapacityV1', 1], ['NetworkAddressV1', 64]]],
    ['ProvisioningRequestV1', [['MachineAttestationV1', 1], ['CapabilityManifestV1', 1], ['ResourceBudgetV1', 1]]],
    ['ProvisioningReceiptV1', [['HolonCertificateV1', 1], ['CapabilityManifestV1', 1], ['ResourceBudgetV1', 1]]],
    ['ResourceMeteringEventV1', [['ResourceBudgetV1', 2]]],
    ['TeardownReceiptV1', [['ReceiptMultiProofV1', 1], ['ResourceBudgetV1', 1]]],
  ];
  for (const [outer, inner] of parts) {
    const sum = inner.reduce((n, [name, times]) => n + limit(name) * times, 0);
    t.ok(limit(outer) >= sum, `${outer}: ${limit(outer)} ≥ ${sum} bytes of parts`);
  }
});
