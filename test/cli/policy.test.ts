/**
 * PolicyV1, the object `holonctl init` signs: the sample verifies and
 * round-trips, every ordering and cross-reference rule refuses at the exact
 * path, and the largest policy the limits allow fits the byte limit.
 */
import t from 'tap';
import { MAX_PCR_INDEX } from '../../bus-schemas/v1/tpm-quote.js';
import { MAX_MACHINE_CLASSES, MAX_PREAPPROVED_EKS, MAX_DENIED_JURISDICTIONS, PolicyV1 } from '../../bus-schemas/v1/policy.js';
import { refuses } from '../helpers/refuses.js';
import { keyId, policy, SIGNERS } from '../bus-schemas/v1/samples.js';

type Body = Omit<PolicyV1, 'principal_seal'>;
const body = (): Body => {
  const { principal_seal: _s, ...b } = policy();
  return b;
};
const sealed = (b: Body): PolicyV1 => PolicyV1.seal(b, SIGNERS.principal);
const hex = (n: number, len: number): string => n.toString(16).padStart(len, '0');

void t.test('the sample verifies, round-trips and is refused when altered', async (t) => {
  const p = policy();
  t.doesNotThrow(() => PolicyV1.verify(p, keyId(SIGNERS.principal)));
  t.same(PolicyV1.decode(PolicyV1.encode(p)), p, 'decode(encode(p)) = p');
  refuses(t, () => PolicyV1.verify({ ...p, tpm: 'required' }), { code: 'HOLON_E_BAD_SEAL' }, 'a loosened copy no longer verifies');
  refuses(t, () => PolicyV1.parse({ ...p, extra: 1 }), { path: '$.extra', reason: 'unknown field' });
  const byCell = PolicyV1.seal(body(), SIGNERS.cell);
  refuses(t, () => PolicyV1.parse(byCell), { path: '$.principal_seal.key', reason: 'not sealed by principal_key' });
});

void t.test('ordering, ranges and cross-references refuse at the exact path', async (t) => {
  const cls = (machine_class: string): Body['pcr_golden'][number] => ({ machine_class, bank: 'sha1', pcrs: [{ index: 0, digest: hex(0, 40) }] });
  const cases: [string, (b: Body) => void, string, string | RegExp][] = [
    ['roles out of order', (b) => (b.tpm_required_roles = ['HOST', 'BUILD_WORKER']), '$.tpm_required_roles[1]', 'roles must follow the HolonRole order'],
    ['role twice', (b) => (b.tpm_required_roles = ['HOST', 'HOST']), '$.tpm_required_roles[1]', 'role listed twice'],
    ['classes unsorted', (b) => (b.pcr_golden = [cls('b'), cls('a')]), '$.pcr_golden[1].machine_class', 'machine class out of order: the list must be sorted ascending'],
    ['class twice', (b) => (b.pcr_golden = [cls('a'), cls('a')]), '$.pcr_golden[1].machine_class', 'machine class listed twice'],
    ['bad class name', (b) => (b.pcr_golden = [cls('Upper')]), '$.pcr_golden[0].machine_class', /expected a machine class/],
    [
      'PCRs out of order',
      (b) => (b.pcr_golden = [{ machine_class: 'a', bank: 'sha1', pcrs: [{ index: 7, digest: hex(0, 40) }, { index: 0, digest: hex(0, 40) }] }]),
      '$.pcr_golden[0].pcrs[1].index',
      'PCR indices must be strictly ascending',
    ],
    ['digest of another bank', (b) => (b.pcr_golden = [{ machine_class: 'a', bank: 'sha256', pcrs: [{ index: 0, digest: hex(0, 40) }] }]), '$.pcr_golden[0].pcrs[0].digest', 'expected 64 hex digits for a sha256 bank'],
    ['PCR 24', (b) => (b.pcr_golden = [{ machine_class: 'a', bank: 'sha1', pcrs: [{ index: 24, digest: hex(0, 40) }] }]), '$.pcr_golden[0].pcrs[0].index', 'integer above maximum 23'],
    ['EKs unsorted', (b) => (b.preapproved_eks = [{ ek_sha256: hex(2, 64) }, { ek_sha256: hex(1, 64) }]), '$.preapproved_eks[1].ek_sha256', /sorted ascending/],
    ['EK twice', (b) => (b.preapproved_eks = [{ ek_sha256: hex(1, 64) }, { ek_sha256: hex(1, 64) }]), '$.preapproved_eks[1].ek_sha256', 'EK hash listed twice'],
    ['EK hash in capitals', (b) => (b.preapproved_eks = [{ ek_sha256: hex(1, 64).toUpperCase().replace(/0/g, 'A') }]), '$.preapproved_eks[0].ek_sha256', /lowercase hex SHA-256/],
    ['EK of an unknown class', (b) => (b.preapproved_eks = [{ ek_sha256: hex(1, 64), machine_class: 'nope' }]), '$.preapproved_eks[0].machine_class', 'no pcr_golden entry for machine class "nope"'],
    ['jurisdictions unsorted', (b) => (b.denied_jurisdictions = ['RU', 'KP']), '$.denied_jurisdictions[1]', 'jurisdiction out of order: the list must be sorted ascending'],
    ['bad jurisdiction', (b) => (b.denied_jurisdictions = ['kp']), '$.denied_jurisdictions[0]', /ISO 3166-1/],
    ['difficulty 41', (b) => (b.admission_difficulty = 41), '$.admission_difficulty', 'integer above maximum 40'],
    ['nonce lifetime 999 ms', (b) => (b.nonce_lifetime_ms = 999), '$.nonce_lifetime_ms', 'integer below minimum 1000'],
    ['serial 0', (b) => (b.serial = 0), '$.serial', 'integer below minimum 1'],
    ['tpm maybe', (b) => ((b as { tpm: string }).tpm = 'maybe'), '$.tpm', /expected one of/],
  ];
  for (const [what, mutate, path, reason] of cases) {
    const b = body();
    mutate(b);
    refuses(t, () => PolicyV1.parse(sealed(b)), { code: 'HOLON_E_MALFORMED', path, reason }, what);
  }
});

void t.test('the largest policy the limits allow fits maxBytes', async (t) => {
  const b = body();
  const classes = Array.from({ length: MAX_MACHINE_CLASSES }, (_, i) => `${'c'.repeat(60)}${hex(i, 4)}`);
  b.pcr_golden = classes.map((machine_class) => ({
    machine_class,
    bank: 'sha384' as const,
    pcrs: Array.from({ length: MAX_PCR_INDEX + 1 }, (_, index) => ({ index, digest: hex(index, 96) })),
  }));
  b.preapproved_eks = Array.from({ length: MAX_PREAPPROVED_EKS }, (_, i) => ({ ek_sha256: hex(i, 64), machine_class: classes[i % classes.length] as string }));
  b.denied_jurisdictions = Array.from({ length: MAX_DENIED_JURISDICTIONS }, (_, i) => `ZZ${String.fromCharCode(65 + Math.floor(i / 26))}${String.fromCharCode(65 + (i % 26))}ZZZZ`).sort();
  b.tpm_required_roles = ['BUILD_WORKER', 'PENTEST_SANDBOX', 'SERVICE_HOST', 'RELAY', 'GENERAL_COMPUTE', 'HOST'];
  const p = sealed(b);
  const bytes = PolicyV1.encode(p);
  t.ok(bytes.length <= PolicyV1.maxBytes, `${bytes.length} ≤ ${PolicyV1.maxBytes} bytes`);
  t.same(PolicyV1.decode(bytes), p, 'and decodes');
  b.preapproved_eks.push({ ek_sha256: 'f'.repeat(64) });
  refuses(t, () => PolicyV1.parse(sealed(b)), { path: '$.preapproved_eks', reason: `array longer than ${MAX_PREAPPROVED_EKS}` }, 'one EK more is refused');
});
