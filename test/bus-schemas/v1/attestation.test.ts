import t from 'tap';
import { SealError } from '../../../bus-schemas/errors.js';
import { JurisdictionAttestationV1 } from '../../../bus-schemas/v1/jurisdiction-attestation.js';
import { MachineAttestationV1 } from '../../../bus-schemas/v1/machine-attestation.js';
import { refusesExactly as refuses } from './refuses-exactly.js';
import { holonId, jurisdictionAttestation, keyId, machineAttestation, platformReport, resealed, SIGNERS, T0 } from './samples.js';

void t.test('jurisdiction codes: alpha-2, with subdivision, or configured', async (t) => {
  const a = jurisdictionAttestation();
  for (const j of ['DE', 'US-CA', 'GB-ENG', 'FR-75', 'EU', 'EEA', 'EUROZONE']) {
    t.equal(JurisdictionAttestationV1.parse({ ...a, jurisdiction: j }).jurisdiction, j, j);
  }
  for (const j of ['de', 'D1', 'USA-CA', 'DE-', 'DE-BAYE', 'EUROPEANS', 'E U']) {
    refuses(
      t,
      () => JurisdictionAttestationV1.parse({ ...a, jurisdiction: j }),
      { path: '$.jurisdiction', reason: /^(expected an ISO 3166-1 alpha-2 code|string longer than 8)/ },
      j,
    );
  }
});

void t.test('jurisdiction attestation: window, coordinates, landmarks, provider seal', async (t) => {
  const a = jurisdictionAttestation();
  t.same(JurisdictionAttestationV1.parse({ ...a, not_after: a.not_before }).not_after, a.not_before, 'a one-instant window is fine');
  refuses(t, () => JurisdictionAttestationV1.parse({ ...a, not_after: a.not_before - 1 }), {
    path: '$.not_after',
    reason: 'window ends before it begins',
  });
  refuses(t, () => JurisdictionAttestationV1.parse({ ...a, location: { lat: 90.5, lon: 0 } }), {
    path: '$.location.lat',
    reason: 'number above maximum 90',
  });
  refuses(t, () => JurisdictionAttestationV1.parse({ ...a, location: { lat: 0, lon: -180.25 } }), {
    path: '$.location.lon',
    reason: 'number below minimum -180',
  });
  refuses(t, () => JurisdictionAttestationV1.parse({ ...a, location: { lat: Number.NaN, lon: 0 } }), {
    path: '$.location.lat',
    reason: 'expected a finite number',
  });
  refuses(t, () => JurisdictionAttestationV1.parse({ ...a, location: { lat: 1 } }), { path: '$.location.lon', reason: 'required field missing' });
  const lm = (a.landmark_rtts ?? [])[0];
  refuses(t, () => JurisdictionAttestationV1.parse({ ...a, landmark_rtts: [lm, { ...lm, rtt_ms: 9 }] }), {
    path: '$.landmark_rtts[1].landmark_holon',
    reason: 'landmark listed twice',
  });
  refuses(t, () => JurisdictionAttestationV1.parse({ ...a, landmark_rtts: [{ ...lm, rtt_ms: 60_001 }] }), {
    path: '$.landmark_rtts[0].rtt_ms',
    reason: 'number above maximum 60000',
  });
  refuses(t, () => JurisdictionAttestationV1.parse({ ...a, landmark_rtts: [{ ...lm, landmark_holon: keyId(SIGNERS.landmark) }] }), {
    path: '$.landmark_rtts[0].landmark_holon',
    reason: 'expected a holon1… id, got hkey1…',
  });
  refuses(t, () => JurisdictionAttestationV1.parse({ ...a, landmark_rtts: [] }), { path: '$.landmark_rtts', reason: 'array shorter than 1' });
  refuses(t, () => JurisdictionAttestationV1.parse({ ...a, site: '-fsn1' }), { path: '$.site' });

  const { landmark_rtts: _l, location: _c, ...bare } = a;
  t.ok(JurisdictionAttestationV1.parse(resealed(JurisdictionAttestationV1, bare, SIGNERS.provider)), 'location and RTTs are optional');
  refuses(t, () => JurisdictionAttestationV1.parse(resealed(JurisdictionAttestationV1, a, SIGNERS.machine)), {
    path: '$.provider_seal.key',
    reason: 'not sealed by provider_key',
  });
  JurisdictionAttestationV1.verify(a, a.provider_key);
  refuses(t, () => JurisdictionAttestationV1.verify({ ...a, site: 'fsn1-dc15' }, a.provider_key), SealError, 'the site is sealed');
  refuses(t, () => JurisdictionAttestationV1.verify(a, keyId(SIGNERS.principal)), SealError, 'by the provider, not another key');
});

void t.test('machine attestation: one machine, one bootstrap, sealed by the machine', async (t) => {
  const m = machineAttestation();
  MachineAttestationV1.verify(m, m.machine_id);
  refuses(t, () => MachineAttestationV1.verify(m, keyId(SIGNERS.provider)), { code: 'HOLON_E_BAD_SEAL' });

  const elsewhere = resealed(JurisdictionAttestationV1, { ...m.jurisdiction_attestation, machine_id: keyId(SIGNERS.child) }, SIGNERS.provider);
  refuses(t, () => MachineAttestationV1.parse({ ...m, jurisdiction_attestation: elsewhere }), {
    path: '$.jurisdiction_attestation.machine_id',
    reason: 'attests a different machine',
  });
  const noTpm = { ...platformReport(), tpm: { present: false, version: null } };
  refuses(t, () => MachineAttestationV1.parse({ ...m, platform_report: noTpm }), {
    path: '$.tpm_quote',
    reason: 'quote given but the platform report has no TPM 2.0',
  });
  const { tpm_quote: _q, ...softwareOnly } = m;
  t.ok(MachineAttestationV1.parse(resealed(MachineAttestationV1, { ...softwareOnly, platform_report: noTpm }, SIGNERS.machine)), 'no TPM, no quote');
  refuses(t, () => MachineAttestationV1.parse({ ...m, orchestrator_nonce: m.agent_nonce }), {
    path: '$.orchestrator_nonce',
    reason: 'must differ from agent_nonce',
  });
  refuses(t, () => MachineAttestationV1.parse({ ...m, agent_nonce: m.agent_nonce.slice(0, 42) }), {
    path: '$.agent_nonce',
    reason: 'shorter than 32 bytes',
  });
  refuses(t, () => MachineAttestationV1.parse({ ...m, orchestrator_nonce: undefined }), {
    path: '$.orchestrator_nonce',
    reason: 'expected base64url string, got undefined',
  });
  refuses(t, () => MachineAttestationV1.parse(resealed(MachineAttestationV1, m, SIGNERS.provider)), {
    path: '$.attestation_seal.key',
    reason: 'not sealed by machine_id',
  });
  refuses(t, () => MachineAttestationV1.parse({ ...m, network_addresses: new Array(65).fill(m.network_addresses[0]) }), {
    path: '$.network_addresses',
    reason: 'array longer than 64',
  });
  refuses(t, () => MachineAttestationV1.parse({ ...m, machine_id: holonId(SIGNERS.machine) }), {
    path: '$.machine_id',
    reason: 'expected a hkey1… id, got holon1…',
  });
});

void t.test('a replayed attestation is detectable: the nonces are under the seal', async (t) => {
  const m = machineAttestation();
  const replayed = { ...m, orchestrator_nonce: Buffer.alloc(32, 9).toString('base64url') };
  t.ok(MachineAttestationV1.parse(replayed), 'a swapped nonce still parses …');
  refuses(t, () => MachineAttestationV1.verify(replayed, m.machine_id), SealError, '… but no longer verifies');
  const later = { ...m, attested_at: { unix_ms: T0 + 1, source: 'NTP' as const } };
  refuses(t, () => MachineAttestationV1.verify(later, m.machine_id), SealError, 'the time is sealed too');
});
