/**
 * A FreeBSD 14.1 bhyve guest running Bastille, as the real tools describe
 * it: `uname -r` 14.1-RELEASE-p3 with userland p5 (`freebsd-version -u`),
 * ZFS datasets as si.fsSize reports them (df corrected by `zfs list`),
 * `sysctl -n security.jail.jailed kern.vm_guest`, `pciconf -l` (FreeBSD 13+
 * `vendor=` form and the older `chip=` form), an `ifconfig` media line,
 * and bastille's coloured version line. Only the shapes are from FreeBSD;
 * no FreeBSD machine ran this.
 */
import { addr, type FakeHostSpec } from './fake-host.js';

const PCICONF = [
  'hostb0@pci0:0:0:0:\tclass=0x060000 rev=0x00 hdr=0x00 vendor=0x8086 device=0x1237 subvendor=0x0000 subdevice=0x0000',
  'vgapci0@pci0:0:2:0:\tclass=0x030000 rev=0x00 hdr=0x00 vendor=0x10de device=0x1eb8 subvendor=0x10de subdevice=0x12a2',
  'vgapci1@pci0:0:3:0:\tclass=0x030000 card=0x00000000 chip=0x56a08086 rev=0x08 hdr=0x00',
  'vgapci2@pci0:0:4:0:\tclass=0x030000 rev=0x41 hdr=0x00 vendor=0x1a03 device=0x2000 subvendor=0x1a03 subdevice=0x2000',
  'virtio_pci0@pci0:0:5:0:\tclass=0x020000 rev=0x00 hdr=0x00 vendor=0x1af4 device=0x1000 subvendor=0x1af4 subdevice=0x0001',
].join('\n');

const IFCONFIG_VTNET0 = [
  'vtnet0: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1500',
  '\toptions=4c079b<RXCSUM,TXCSUM,VLAN_MTU,VLAN_HWTAGGING,VLAN_HWCSUM,TSO4,TSO6,LRO,VLAN_HWTSO,LINKSTATE,TXCSUM_IPV6>',
  '\tether 58:9c:fc:01:02:03',
  '\tinet 203.0.113.10 netmask 0xffffff00 broadcast 203.0.113.255',
  '\tmedia: Ethernet autoselect (10Gbase-T <full-duplex>)',
  '\tstatus: active',
  '\tnd6 options=29<PERFORMNUD,IFDISABLED,AUTO_LINKLOCAL>',
].join('\n');

export function freebsdSpec(): FakeHostSpec {
  return {
    platform: 'freebsd',
    osInfo: { platform: 'freebsd', distro: 'FreeBSD', release: '14.1', codename: '', kernel: '14.1-RELEASE-p3', hostname: 'bsd01.example.net' },
    cpu: { manufacturer: 'Intel', brand: 'Xeon® E-2236', cores: 12, physicalCores: 6, speed: 3.4 },
    mem: { total: 34_243_846_144 },
    fsSize: [
      { fs: 'zroot/ROOT/default', type: 'zfs', size: 900_000_000_000, used: 12_000_000_000, available: 888_000_000_000, mount: '/' },
      { fs: 'zroot/var', type: 'zfs', size: 880_000_000_000, used: 3_000_000_000, available: 877_000_000_000, mount: '/var' },
      { fs: 'zroot/var/db/holo', type: 'zfs', size: 10_000_000_000, used: 1_000, available: 9_999_999_000, mount: '/var/db/holo' },
      { fs: 'zroot/bastille', type: 'zfs', size: 870_000_000_000, used: 40_000_000_000, available: 830_000_000_000, mount: '/usr/local/bastille' },
    ],
    system: { manufacturer: '', model: 'BHYVE', virtual: true, virtualHost: 'bhyve' },
    graphics: null,
    machine: 'amd64',
    kernelRelease: '14.1-RELEASE-p3',
    kernelVersion: 'FreeBSD 14.1-RELEASE-p3 GENERIC',
    interfaces: {
      vtnet0: [addr.v4('203.0.113.10'), addr.v6('2001:db8::10'), addr.v6('fe80::5a9c:fcff:fe01:203', false, 1)],
      lo0: [addr.v6('::1', true), addr.v6('fe80::1', true, 2), addr.v4('127.0.0.1', true)],
      bastille0: [addr.v4('10.17.89.1')],
    },
    files: { '/dev/tpm0': '' },
    dirs: ['/var/db/holonet', '/usr/local/bastille'],
    links: {},
    executables: [
      '/sbin/sysctl',
      '/bin/freebsd-version',
      '/sbin/ifconfig',
      '/usr/sbin/pciconf',
      '/usr/bin/rctl',
      '/usr/sbin/jls',
      '/sbin/zfs',
      '/usr/local/bin/bastille',
      '/usr/local/bin/tpm2_quote',
      '/usr/local/bin/nats-server',
    ],
    commands: {
      '/sbin/sysctl -n security.jail.jailed kern.vm_guest': addr.ok('0\nbhyve\n'),
      '/bin/freebsd-version -u': addr.ok('14.1-RELEASE-p5\n'),
      '/sbin/ifconfig vtnet0': addr.ok(`${IFCONFIG_VTNET0}\n`),
      '/sbin/ifconfig bastille0': addr.ok('bastille0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> metric 0 mtu 16384\n\tinet 10.17.89.1 netmask 0xffffffff\n'),
      '/usr/sbin/pciconf -l': addr.ok(`${PCICONF}\n`),
      '/sbin/zfs version': addr.ok('zfs-2.2.4-FreeBSD_g256659204\nzfs-kmod-2.2.4-FreeBSD_g256659204\n'),
      '/usr/local/bin/bastille --version': addr.ok('\u001b[0;32m0.12.20240715\u001b[0m\n'),
      '/usr/local/bin/tpm2_quote --version': addr.ok('tool="tpm2_quote" version="5.7" tctis="libtss2-tctildr" tcti-default=tcti-device\n'),
      '/usr/local/bin/nats-server --version': addr.ok('nats-server: v2.10.18\n'),
    },
  };
}

/** A Debian 12 bare-metal host with a TPM 2.0 and an NVIDIA card behind an ASPEED BMC. */
export function linuxSpec(): FakeHostSpec {
  return {
    platform: 'linux',
    osInfo: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', codename: 'bookworm', kernel: '6.1.0-21-amd64', hostname: 'node7' },
    cpu: { manufacturer: 'AMD', brand: 'EPYC 7543 32-Core Processor', cores: 64, physicalCores: 32, speed: 2.8 },
    mem: { total: 270_000_000_000 },
    fsSize: [
      { fs: '/dev/nvme0n1p2', type: 'ext4', size: 500_000_000_000, used: 100_000_000_000, available: 375_000_000_000, mount: '/' },
      { fs: '/dev/md0', type: 'xfs', size: 8_000_000_000_000, used: 1_000_000_000_000, available: 7_000_000_000_000, mount: '/srv' },
    ],
    system: { manufacturer: 'Supermicro', model: 'AS -1014S-WTRT', virtual: false },
    graphics: {
      controllers: [
        { vendor: 'ASPEED Technology, Inc.', vendorId: '1a03', model: 'ASPEED Graphics Family' },
        { vendor: 'NVIDIA Corporation', vendorId: '10de', model: 'GA100 [A100 PCIe 40GB]' },
      ],
    },
    machine: 'x86_64',
    kernelRelease: '6.1.0-21-amd64',
    kernelVersion: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.90-1 (2024-05-03)',
    interfaces: {
      eno1: [addr.v4('198.51.100.7'), addr.v6('fe80::1:2ff:fe03:405', false, 2)],
      lo: [addr.v4('127.0.0.1', true), addr.v6('::1', true)],
    },
    files: { '/dev/tpmrm0': '', '/dev/tpm0': '', '/sys/class/tpm/tpm0/tpm_version_major': '2\n', '/sys/class/net/eno1/speed': '25000\n' },
    dirs: ['/srv/holonet'],
    links: { '/var/lib/holonet': '/srv/holonet' },
    executables: ['/usr/bin/systemd-detect-virt', '/usr/sbin/ip', '/usr/bin/unshare', '/usr/bin/nsenter'],
    commands: {
      '/usr/bin/systemd-detect-virt': addr.ok('none\n', 1),
      '/usr/sbin/ip -V': addr.ok('ip utility, iproute2-6.1.0, libbpf 1.1.0\n'),
      '/usr/bin/unshare --version': addr.ok('unshare from util-linux 2.38.1\n'),
      '/usr/bin/nsenter --version': addr.ok('nsenter from util-linux 2.38.1\n'),
    },
  };
}
