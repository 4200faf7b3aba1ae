/**
 * The small readers inside the probes, one table each: tool version lines,
 * FreeBSD pciconf and ifconfig output, virtualization names, mount choice,
 * CPU model text, address filtering.
 */
import t from 'tap';
import { countPciconfGpus } from '../../adapters/probes/gpu-probe.js';
import { parseFreebsdMedia } from '../../adapters/probes/bandwidth-probe.js';
import { describeCpuModel } from '../../adapters/probes/cpu-probe.js';
import { pickMount } from '../../adapters/probes/disk-probe.js';
import { createDefaultProbes, createProbeManager, STANDARD_BIN_DIRS } from '../../adapters/probes/index.js';
import { mapArchitecture } from '../../adapters/probes/os-probe.js';
import { findVersion, toPrintable } from '../../adapters/probes/printable-text.js';
import { mapSiSystem, mapSystemdVirt, mapVmGuest } from '../../adapters/probes/virtualization-probe.js';
import { refuses } from '../helpers/refuses.js';
import { addr, fakeHost } from './fake-host.js';
import { freebsdSpec } from './freebsd-host.js';

void t.test('findVersion: the version in each tool\'s own words', async (t) => {
  const cases: [string, string | undefined][] = [
    ['ip utility, iproute2-6.1.0, libbpf 1.1.2', '6.1.0'],
    ['unshare from util-linux 2.38.1', '2.38.1'],
    ['tool="tpm2_quote" version="5.4" tctis="libtss2-tctildr" tcti-default=tcti-device', '5.4'],
    ['TPM emulator version 0.7.1, Copyright (c) 2014-2021 IBM Corp.', '0.7.1'],
    ['nats-server: v2.9.10', '2.9.10'],
    ['zfs-2.1.11-1\nzfs-kmod-2.1.11-1', '2.1.11-1'],
    ['\u001b[0;32m0.10.20231125\u001b[0m', '0.10.20231125'],
    ['-e \u001b[0;32m0.4.20190623\u001b[0m', '0.4.20190623'],
    ['usage: rctl [-h] [-n]', undefined],
    ['', undefined],
  ];
  for (const [text, expected] of cases) t.equal(findVersion(text), expected, JSON.stringify(text));
});

void t.test('toPrintable: control characters out, bounded, surrogate pairs kept whole', async (t) => {
  t.equal(toPrintable('  Intel(R)\tXeon(R)\n CPU  ', 128), 'Intel(R) Xeon(R) CPU');
  t.equal(toPrintable('abc\u0085def', 128), 'abc def');
  t.equal(toPrintable('a'.repeat(200), 128).length, 128);
  t.equal(toPrintable(`${'a'.repeat(127)}😀`, 128), 'a'.repeat(127), 'no half emoji');
});

void t.test('pciconf -l: GPU-vendor display devices in both output forms', async (t) => {
  t.equal(countPciconfGpus('vgapci0@pci0:0:2:0:\tclass=0x030000 rev=0x00 hdr=0x00 vendor=0x1002 device=0x73bf'), 1);
  t.equal(countPciconfGpus('vgapci0@pci0:0:2:0:\tclass=0x030000 card=0x221217aa chip=0x01268086 rev=0x09 hdr=0x00'), 1);
  t.equal(countPciconfGpus('vgapci0@pci0:3:0:0:\tclass=0x030000 rev=0x41 hdr=0x00 vendor=0x1a03 device=0x2000'), 0, 'ASPEED BMC');
  t.equal(countPciconfGpus('none0@pci0:0:31:3:\tclass=0x040300 rev=0x00 hdr=0x00 vendor=0x8086 device=0xa348'), 0, 'Intel audio');
  t.equal(countPciconfGpus('vgapci1@pci0:65:0:0:\tclass=0x030200 rev=0xa1 hdr=0x00 vendor=0x10de device=0x20b0'), 1, '3D controller class');
});

void t.test('ifconfig media: link speed in bits per second', async (t) => {
  t.equal(parseFreebsdMedia('\tmedia: Ethernet autoselect (1000baseT <full-duplex>)'), 1e9);
  t.equal(parseFreebsdMedia('\tmedia: Ethernet autoselect (10Gbase-SR <full-duplex,rxpause,txpause>)'), 1e10);
  t.equal(parseFreebsdMedia('\tmedia: Ethernet 25GBase-CR <full-duplex>'), 25e9);
  t.equal(parseFreebsdMedia('\tmedia: Ethernet autoselect (2500Base-T <full-duplex>)'), 2.5e9);
  t.equal(parseFreebsdMedia('\tmedia: Ethernet autoselect (100baseTX <full-duplex>)'), 1e8);
  t.equal(parseFreebsdMedia('\tmedia: Ethernet autoselect\n\tstatus: no carrier'), undefined);
  t.equal(parseFreebsdMedia('lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST>'), undefined);
});

void t.test('virtualization names', async (t) => {
  t.equal(mapSystemdVirt('docker'), 'container');
  t.equal(mapSystemdVirt('systemd-nspawn'), 'container');
  t.equal(mapSystemdVirt('microsoft'), 'hyperv');
  t.equal(mapSystemdVirt('oracle'), 'virtualbox');
  t.equal(mapSystemdVirt('amazon'), 'other');
  t.equal(mapSystemdVirt('none\n'), 'none');
  t.equal(mapVmGuest('hv'), 'hyperv');
  t.equal(mapVmGuest('generic'), 'other');
  t.equal(mapSiSystem({ manufacturer: '', model: 'Docker Container', virtual: true, virtualHost: 'KVM' }), 'container');
  t.equal(mapSiSystem({ manufacturer: 'Dell Inc.', model: 'PowerEdge R650', virtual: false }), 'none');
  t.equal(mapSiSystem({ manufacturer: 'Microsoft Corporation', model: 'Virtual Machine', virtual: true, virtualHost: 'Microsoft Hyper-V' }), 'hyperv');
  t.equal(mapSiSystem({ manufacturer: '', model: '', virtual: true }), 'other');
});

void t.test('architectures: uname -m and FreeBSD hw.machine spellings', async (t) => {
  t.equal(mapArchitecture('x86_64'), 'amd64');
  t.equal(mapArchitecture('amd64'), 'amd64');
  t.equal(mapArchitecture('aarch64'), 'arm64');
  t.equal(mapArchitecture('armv7l'), 'armv7');
  refuses(t, () => mapArchitecture('sparc64'), { code: 'HOLON_E_PROBE_FAILED', field: '$.arch' });
});

void t.test('pickMount: longest containing mount, the later of equals, never a name prefix', async (t) => {
  const row = (mount: string, available: number) => ({ fs: mount, type: 'x', size: 1, used: 0, available, mount });
  const rows = [row('/', 1), row('/var', 2), row('/var/db/holo', 3), row('/var', 4)];
  t.equal(pickMount(rows, '/var/db/holonet')?.available, 4);
  t.equal(pickMount(rows, '/var/db/holo')?.available, 3);
  t.equal(pickMount(rows, '/srv/x')?.available, 1);
  t.equal(pickMount([row('/home', 5)], '/srv'), undefined);
});

void t.test('CPU model text', async (t) => {
  t.equal(describeCpuModel('AMD', 'EPYC'), 'AMD EPYC');
  t.equal(describeCpuModel('Intel', 'Intel Xeon Gold 6338'), 'Intel Xeon Gold 6338');
  t.equal(describeCpuModel('', ''), 'unknown');
});

void t.test('network: odd interface names warn, more than 64 addresses are cut with a warning', async (t) => {
  const spec = freebsdSpec();
  spec.interfaces = {
    'weird name!': [addr.v4('198.51.100.9')],
    vtnet0: Array.from({ length: 70 }, (_, i) => addr.v4(`203.0.113.${i + 1}`)),
  };
  const result = await createProbeManager(
    { dataDir: '/var/db/holonet', searchPath: [...STANDARD_BIN_DIRS] },
    { source: fakeHost(spec), probes: createDefaultProbes() },
  ).run();
  t.equal(result.addresses.length, 64);
  t.same(result.interfaces, ['vtnet0']);
  t.match(result.warnings.filter((w) => w.probe === 'network'), [
    { reason: 'interface "weird name!" skipped: not a reportable interface name', defaulted: [] },
    { reason: '70 addresses found; only the first 64 in sort order are reported', defaulted: [] },
  ]);
});
