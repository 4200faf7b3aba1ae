import t from 'tap';
import { PlatformReportV1 } from '../../../bus-schemas/v1/platform-report.js';
import { ResourceCapacityV1 } from '../../../bus-schemas/v1/resource-capacity.js';
import { refusesExactly as refuses } from './refuses-exactly.js';
import { platformReport, resourceCapacity } from './samples.js';

void t.test('platform report: TPM version is null exactly when there is no TPM', async (t) => {
  const r = platformReport();
  t.same(PlatformReportV1.parse({ ...r, tpm: { present: false, version: null } }).tpm, { present: false, version: null });
  t.same(PlatformReportV1.parse({ ...r, tpm: { present: true, version: '1.2' } }).tpm, { present: true, version: '1.2' });
  refuses(t, () => PlatformReportV1.parse({ ...r, tpm: { present: true, version: null } }), {
    path: '$.tpm.version',
    reason: 'version required when a TPM is present',
  });
  refuses(t, () => PlatformReportV1.parse({ ...r, tpm: { present: false, version: '2.0' } }), {
    path: '$.tpm.version',
    reason: 'version must be null when no TPM is present',
  });
  refuses(t, () => PlatformReportV1.parse({ ...r, tpm: { present: true, version: '3.0' } }), {
    path: '$.tpm.version',
    reason: 'expected one of 1.2, 2.0',
  });
  refuses(t, () => PlatformReportV1.parse({ ...r, tpm: { present: true } }), { path: '$.tpm.version', reason: 'required field missing' });
});

void t.test('platform report: tools and labels are sorted sets', async (t) => {
  const r = platformReport();
  const [a, b] = r.installed_tools as [(typeof r.installed_tools)[0], (typeof r.installed_tools)[0]];
  refuses(t, () => PlatformReportV1.parse({ ...r, installed_tools: [b, a] }), {
    path: '$.installed_tools[1]',
    reason: 'tool name out of order (must ascend)',
  });
  refuses(t, () => PlatformReportV1.parse({ ...r, installed_tools: [a, { ...a, version: '9' }] }), {
    path: '$.installed_tools[1]',
    reason: 'duplicate tool name "nats-server"',
  });
  refuses(t, () => PlatformReportV1.parse({ ...r, installed_tools: [{ name: 'Bastille', version: '0.10' }] }), {
    path: '$.installed_tools[0].name',
    reason: 'expected a lowercase tool name (bastille, tpm2-tools …)',
  });
  const [l1, l2] = r.labels as [(typeof r.labels)[0], (typeof r.labels)[0]];
  refuses(t, () => PlatformReportV1.parse({ ...r, labels: [l2, l1] }), { path: '$.labels[1]', reason: 'label key out of order (must ascend)' });
  refuses(t, () => PlatformReportV1.parse({ ...r, labels: [l1, l1] }), { path: '$.labels[1]', reason: 'duplicate label key "holonet.io/disk"' });
  for (const key of ['Zone', '-zone', 'zone-', 'a/b/c', 'holonet.io/', '']) {
    refuses(t, () => PlatformReportV1.parse({ ...r, labels: [{ key, value: 'x' }] }), { path: '$.labels[0].key' }, `label key ${key}`);
  }
  t.same(PlatformReportV1.parse({ ...r, labels: [{ key: 'zone', value: '' }] }).labels, [{ key: 'zone', value: '' }], 'empty values are fine');
});

void t.test('platform report: printable text, architectures, host names', async (t) => {
  const r = platformReport();
  refuses(t, () => PlatformReportV1.parse({ ...r, os_release: 'Debian\n12' }), {
    path: '$.os_release',
    reason: 'expected printable text without control characters',
  });
  refuses(t, () => PlatformReportV1.parse({ ...r, cpu_model: 'EPYC\u009b' }), { path: '$.cpu_model', reason: 'expected printable text without control characters' });
  refuses(t, () => PlatformReportV1.parse({ ...r, os_release: '' }), { path: '$.os_release', reason: 'string shorter than 1' });
  refuses(t, () => PlatformReportV1.parse({ ...r, arch: 'x86_64' }), {
    path: '$.arch',
    reason: 'expected one of amd64, arm64, i386, armv7, riscv64, ppc64le, s390x',
  });
  refuses(t, () => PlatformReportV1.parse({ ...r, os_family: 'openbsd' }), { path: '$.os_family', reason: 'expected one of linux, freebsd' });
  refuses(t, () => PlatformReportV1.parse({ ...r, hostname: '10.0.0.1' }), {
    path: '$.hostname',
    reason: 'top-level DNS label must not be all digits',
  });
  refuses(t, () => PlatformReportV1.parse({ ...r, virtualization: 'docker' }), { path: '$.virtualization' });
});

void t.test('capacity: cpu millis within the cores, everything bounded', async (t) => {
  const c = resourceCapacity();
  t.same(ResourceCapacityV1.parse({ ...c, cpu_millis: c.cpu_cores * 1000 }).cpu_millis, 48_000);
  refuses(t, () => ResourceCapacityV1.parse({ ...c, cpu_millis: 48_001 }), {
    path: '$.cpu_millis',
    reason: 'more than cpu_cores × 1000 (48000)',
  });
  refuses(t, () => ResourceCapacityV1.parse({ ...c, cpu_cores: 0 }), { path: '$.cpu_cores', reason: 'integer below minimum 1' });
  refuses(t, () => ResourceCapacityV1.parse({ ...c, memory_bytes: 0 }), { path: '$.memory_bytes', reason: 'integer below minimum 1' });
  refuses(t, () => ResourceCapacityV1.parse({ ...c, gpu_count: 1025 }), { path: '$.gpu_count', reason: 'integer above maximum 1024' });
  refuses(t, () => ResourceCapacityV1.parse({ ...c, storage_bytes: 2 ** 53 }), { path: '$.storage_bytes', reason: 'expected a safe integer' });
  refuses(t, () => ResourceCapacityV1.parse({ ...c, max_units: -1 }), { path: '$.max_units', reason: 'integer below minimum 0' });
});
