import t from 'tap';
import { SealError } from '../../../bus-schemas/errors.js';
import { CapabilityManifestV1 } from '../../../bus-schemas/v1/capability-manifest.js';
import { CellCertificateV1 } from '../../../bus-schemas/v1/cell-certificate.js';
import { HolonCertificateV1, sameKey } from '../../../bus-schemas/v1/holon-certificate.js';
import { ProvisioningReceiptV1 } from '../../../bus-schemas/v1/provisioning-receipt.js';
import { MAX_REQUEST_LIFETIME_MS, ProvisioningRequestV1 } from '../../../bus-schemas/v1/provisioning-request.js';
import { refusesExactly as refuses } from './refuses-exactly.js';
import {
  capabilityManifest,
  cellCertificate,
  cellId,
  holonCertificate,
  holonId,
  keyId,
  provisioningReceipt,
  provisioningRequest,
  resealed,
  SIGNERS,
  T0,
} from './samples.js';

void t.test('sameKey compares the keys inside ids of any kind', async (t) => {
  t.ok(sameKey(holonId(SIGNERS.cell), cellId(SIGNERS.cell)));
  t.ok(sameKey(keyId(SIGNERS.cell), cellId(SIGNERS.cell)));
  t.notOk(sameKey(keyId(SIGNERS.principal), cellId(SIGNERS.cell)));
});

void t.test('request: role, lifetime, chain, requester seal', async (t) => {
  const r = provisioningRequest();
  refuses(t, () => ProvisioningRequestV1.parse({ ...r, requested_role: 'HOST' }), {
    path: '$.requested_role',
    reason: 'HOST is assigned at machine enrollment, not requested',
  });
  refuses(t, () => ProvisioningRequestV1.parse({ ...r, expires_at: T0 }), { path: '$.expires_at', reason: 'expires before it was created' });
  t.ok(ProvisioningRequestV1.parse({ ...r, expires_at: T0 + MAX_REQUEST_LIFETIME_MS }), 'exactly a day is fine');
  refuses(t, () => ProvisioningRequestV1.parse({ ...r, expires_at: T0 + MAX_REQUEST_LIFETIME_MS + 1 }), {
    path: '$.expires_at',
    reason: 'expires more than 24 h after it was created',
  });
  const d = r.delegation_chain[0];
  refuses(t, () => ProvisioningRequestV1.parse({ ...r, delegation_chain: [d, d] }), {
    path: '$.delegation_chain[1]',
    reason: 'delegation listed twice',
  });
  refuses(t, () => ProvisioningRequestV1.parse({ ...r, delegation_chain: ['sha256:00'] }), {
    path: '$.delegation_chain[0]',
    reason: 'string shorter than 71',
  });
  refuses(t, () => ProvisioningRequestV1.parse(resealed(ProvisioningRequestV1, r, SIGNERS.principal)), {
    path: '$.principal_authorization.key',
    reason: 'not sealed by the key of requesting_holon',
  });
  ProvisioningRequestV1.verify(r, keyId(SIGNERS.requester));
  refuses(t, () => ProvisioningRequestV1.verify({ ...r, tenant: 'other' }), SealError, 'the tenant is sealed');
});

void t.test('request: the principal asks as its root key, with an empty chain and no attestation', async (t) => {
  const { machine_attestation: _m, principal_authorization: _p, ...body } = provisioningRequest();
  const root = ProvisioningRequestV1.seal({ ...body, requesting_holon: holonId(SIGNERS.principal), delegation_chain: [] }, SIGNERS.principal);
  t.ok(ProvisioningRequestV1.parse(root));
  t.equal('machine_attestation' in ProvisioningRequestV1.parse(root), false, 'machine_attestation stays absent');
  ProvisioningRequestV1.verify(root, keyId(SIGNERS.principal));
});

void t.test('request: tenant and placement constraints', async (t) => {
  const r = provisioningRequest();
  for (const tenant of ['Acme', 'acme_ci', '-acme', 'acme-', 'a'.repeat(64)]) {
    refuses(t, () => ProvisioningRequestV1.parse({ ...r, tenant }), { path: '$.tenant' }, tenant);
  }
  t.ok(ProvisioningRequestV1.parse({ ...r, constraints: {} }), 'no constraints at all');
  const c = r.constraints;
  refuses(t, () => ProvisioningRequestV1.parse({ ...r, constraints: { ...c, os: ['freebsd', 'linux'] } }), {
    path: '$.constraints.os[1]',
    reason: 'os family out of order (must ascend)',
  });
  refuses(t, () => ProvisioningRequestV1.parse({ ...r, constraints: { ...c, arch: ['arm64', 'arm64'] } }), {
    path: '$.constraints.arch[1]',
    reason: 'duplicate architecture "arm64"',
  });
  refuses(t, () => ProvisioningRequestV1.parse({ ...r, constraints: { ...c, os: [] } }), { path: '$.constraints.os', reason: 'array shorter than 1' });
  refuses(t, () => ProvisioningRequestV1.parse({ ...r, constraints: { ...c, labels: [] } }), {
    path: '$.constraints.labels',
    reason: 'omit labels instead of sending none',
  });
  refuses(t, () => ProvisioningRequestV1.parse({ ...r, constraints: { ...c, jurisdictions: ['EU', 'DE'] } }), {
    path: '$.constraints.jurisdictions[1]',
    reason: 'jurisdiction out of order (must ascend)',
  });
  refuses(t, () => ProvisioningRequestV1.parse({ ...r, constraints: { ...c, jurisdictions: ['de'] } }), { path: '$.constraints.jurisdictions[0]' });
  refuses(t, () => ProvisioningRequestV1.parse({ ...r, constraints: { ...c, gpu: true } }), { path: '$.constraints.gpu', reason: 'unknown field' });
  refuses(t, () => ProvisioningRequestV1.parse({ ...r, request_nonce: Buffer.alloc(15).toString('base64url') }), {
    path: '$.request_nonce',
    reason: 'shorter than 16 bytes',
  });
});

void t.test('holon certificate: window, parent rules, cell seal', async (t) => {
  const c = holonCertificate();
  HolonCertificateV1.verify(c, keyId(SIGNERS.cell));
  refuses(t, () => HolonCertificateV1.parse({ ...c, not_after: c.not_before - 1 }), { path: '$.not_after', reason: 'window ends before it begins' });
  refuses(t, () => HolonCertificateV1.parse({ ...c, parent_holon: c.holon_id }), { path: '$.parent_holon', reason: 'a holon cannot be its own parent' });
  refuses(t, () => HolonCertificateV1.parse({ ...c, role: 'HOST' }), {
    path: '$.parent_holon',
    reason: 'a HOST holon hangs directly under its cell (parent must be null)',
  });
  refuses(t, () => HolonCertificateV1.parse({ ...c, parent_holon: null }), {
    path: '$.parent_holon',
    reason: 'a BUILD_WORKER holon must name its parent',
  });
  t.ok(HolonCertificateV1.parse({ ...c, role: 'HOST', parent_holon: null }), 'an enrolled machine has no parent');
  refuses(t, () => HolonCertificateV1.parse(resealed(HolonCertificateV1, c, SIGNERS.principal)), {
    path: '$.cell_seal.key',
    reason: 'not sealed by the key of cell_id',
  });
  refuses(t, () => HolonCertificateV1.parse({ ...c, serial: 0 }), { path: '$.serial', reason: 'integer below minimum 1' });
  refuses(t, () => HolonCertificateV1.parse({ ...c, cell_id: holonId(SIGNERS.cell) }), {
    path: '$.cell_id',
    reason: 'expected a cell1… id, got holon1…',
  });
});

void t.test('cell certificate: roles in order, sealed by the principal', async (t) => {
  const c = cellCertificate();
  CellCertificateV1.verify(c, c.principal_key);
  refuses(t, () => CellCertificateV1.parse({ ...c, allowed_roles: ['HOST', 'BUILD_WORKER'] }), {
    path: '$.allowed_roles[1]',
    reason: 'roles must follow the HolonRole order',
  });
  refuses(t, () => CellCertificateV1.parse({ ...c, allowed_roles: ['RELAY', 'RELAY'] }), { path: '$.allowed_roles[1]', reason: 'role listed twice' });
  refuses(t, () => CellCertificateV1.parse({ ...c, allowed_roles: [] }), { path: '$.allowed_roles', reason: 'array shorter than 1' });
  refuses(t, () => CellCertificateV1.parse({ ...c, name: 'EU-Central' }), { path: '$.name', reason: 'expected a DNS label like eu-west-1' });
  refuses(t, () => CellCertificateV1.parse({ ...c, not_after: 0 }), { path: '$.not_after', reason: 'window ends before it begins' });
  refuses(t, () => CellCertificateV1.parse(resealed(CellCertificateV1, c, SIGNERS.cell)), {
    path: '$.principal_seal.key',
    reason: 'not sealed by principal_key',
  });
});

void t.test('receipt: agrees with the certificate it carries, sealed by the cell', async (t) => {
  const r = provisioningReceipt();
  ProvisioningReceiptV1.verify(r, keyId(SIGNERS.cell));
  const cert = r.issued_certificate;
  const other = holonId(SIGNERS.landmark);
  refuses(t, () => ProvisioningReceiptV1.parse({ ...r, assigned_holon_id: other }), {
    path: '$.issued_certificate.holon_id',
    reason: 'differs from assigned_holon_id',
  });
  refuses(t, () => ProvisioningReceiptV1.parse({ ...r, assigned_cell_id: cellId(SIGNERS.witness) }), {
    path: '$.issued_certificate.cell_id',
    reason: 'differs from assigned_cell_id',
  });
  refuses(t, () => ProvisioningReceiptV1.parse({ ...r, parent_holon: other }), {
    path: '$.issued_certificate.parent_holon',
    reason: 'differs from parent_holon',
  });
  const wider = capabilityManifest();
  (wider.grants[0] as { caps: { max_children: number } }).caps.max_children = 5;
  refuses(t, () => ProvisioningReceiptV1.parse({ ...r, capability_manifest: wider }), {
    path: '$.issued_certificate.capability_manifest_digest',
    reason: 'is not the digest of capability_manifest',
  });
  t.equal(cert.capability_manifest_digest, CapabilityManifestV1.digest(r.capability_manifest));
  refuses(t, () => ProvisioningReceiptV1.parse(resealed(ProvisioningReceiptV1, r, SIGNERS.principal)), {
    path: '$.principal_seal.key',
    reason: 'not sealed by the key of assigned_cell_id',
  });
  refuses(t, () => ProvisioningReceiptV1.parse({ ...r, issued_certificate: { ...cert, serial: -1 } }), {
    path: '$.issued_certificate.serial',
    reason: 'integer below minimum 1',
  });
});
