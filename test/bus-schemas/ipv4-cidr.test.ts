/**
 * IPv4 pools (bus-schemas/units/ipv4-cidr.ts): the one parser and allocator
 * behind the Linux egress pool and the Bastille address range.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { createBastilleIsolation } from '../../adapters/isolation/bastille/bastille-isolation.js';
import { parsePool, subnetAt } from '../../adapters/isolation/linux/network.js';
import {
  formatIpv4Address,
  formatIpv4Cidr,
  ipv4BlockAt,
  ipv4BlockCount,
  ipv4Mask,
  ipv4Overlaps,
  parseIpv4Address,
  parseIpv4Cidr,
  pickFreeSlot,
} from '../../bus-schemas/units/ipv4-cidr.js';

const BOUNDS = { minPrefix: 8, maxPrefix: 28 };
const want = 'must be an IPv4 CIDR with a prefix between /8 and /28, got';

void t.test('addresses: dotted quads without leading zeros, as unsigned numbers', async (t) => {
  t.equal(parseIpv4Address('0.0.0.0'), 0);
  t.equal(parseIpv4Address('10.222.0.1'), 0x0ade0001);
  t.equal(parseIpv4Address('255.255.255.255'), 0xffffffff);
  for (const bad of ['010.0.0.1', '256.0.0.1', '1.2.3', '1.2.3.4 ', '']) t.equal(parseIpv4Address(bad), undefined, JSON.stringify(bad));
  t.equal(formatIpv4Address(0xffffffff), '255.255.255.255');
  t.equal(formatIpv4Address(0xc0a80101), '192.168.1.1');
  t.equal(ipv4Mask(0), 0);
  t.equal(ipv4Mask(30), 0xfffffffc);
  t.equal(ipv4Mask(32), 0xffffffff);
});

void t.test('CIDRs: prefix within bounds, no host bits, exact reasons', async (t) => {
  t.same(parseIpv4Cidr('10.222.0.0/16', BOUNDS), { ok: true, cidr: { base: 0x0ade0000, prefix: 16 } });
  t.same(parseIpv4Cidr('192.168.255.240/28', BOUNDS), { ok: true, cidr: { base: 0xc0a8fff0, prefix: 28 } });
  t.same(parseIpv4Cidr('255.0.0.0/8', BOUNDS), { ok: true, cidr: { base: 0xff000000, prefix: 8 } });
  const refused: [unknown, string][] = [
    ['10.0.0.0/29', `${want} "10.0.0.0/29"`],
    ['10.0.0.0/7', `${want} "10.0.0.0/7"`],
    ['10.0.0.0/33', `${want} "10.0.0.0/33"`],
    ['10.0.0.0/016', `${want} "10.0.0.0/016"`],
    ['10.0.0.0', `${want} "10.0.0.0"`],
    ['10.0.0.0/', `${want} "10.0.0.0/"`],
    ['010.0.0.0/16', `${want} "010.0.0.0/16"`],
    ['10.0.0.256/24', `${want} "10.0.0.256/24"`],
    [' 10.0.0.0/16', `${want} " 10.0.0.0/16"`],
    [undefined, `${want} "undefined"`],
    ['10.0.0.5/24', '10.0.0.5/24 has host bits set (the network is 10.0.0.0/24)'],
    ['10.222.1.0/16', '10.222.1.0/16 has host bits set (the network is 10.222.0.0/16)'],
  ];
  for (const [text, reason] of refused) t.same(parseIpv4Cidr(text, BOUNDS), { ok: false, reason }, JSON.stringify(text));
  t.equal(formatIpv4Cidr({ base: 0x0ade0000, prefix: 16 }), '10.222.0.0/16');
});

void t.test('blocks, overlap and slots', async (t) => {
  const pool = { base: 0x0ade0000, prefix: 16 };
  t.equal(ipv4BlockCount(pool, 30), 16384, '/16 holds 16384 /30s');
  t.equal(formatIpv4Address(ipv4BlockAt(pool, 30, 0)), '10.222.0.0');
  t.equal(formatIpv4Address(ipv4BlockAt(pool, 30, 65)), '10.222.1.4');
  t.equal(formatIpv4Address(ipv4BlockAt(pool, 30, 16383)), '10.222.255.252');
  const high = { base: 0xfffffff0, prefix: 28 };
  t.equal(formatIpv4Address(ipv4BlockAt(high, 30, 3)), '255.255.255.252', 'no sign trouble at the top');
  const net = (a: string, prefix: number): { network: number; mask: number } => ({ network: parseIpv4Address(a) as number, mask: ipv4Mask(prefix) });
  t.ok(ipv4Overlaps(net('10.222.0.0', 16), net('10.222.1.4', 30)), 'a /30 inside a /16');
  t.ok(ipv4Overlaps(net('10.222.1.4', 30), net('10.222.0.0', 16)), 'symmetric');
  t.notOk(ipv4Overlaps(net('10.222.1.8', 30), net('10.222.1.4', 30)), 'neighbouring /30s');
  t.notOk(ipv4Overlaps(net('10.223.0.0', 16), net('10.222.1.4', 30)));

  // Slots: SHA-256(seed) mod count first, then the next free one, wrapping; the same as both adapters did before.
  const start = createHash('sha256').update('subnet:web1').digest().readUInt32BE(0) % 16384;
  t.equal(pickFreeSlot('subnet:web1', 16384, () => true), start, 'the hashed slot when free');
  t.equal(pickFreeSlot('subnet:web1', 16384, (i) => i !== start), (start + 1) % 16384, 'else the next one');
  t.equal(pickFreeSlot('x', 3, (i) => i === 0), 0, 'wraps around');
  t.equal(pickFreeSlot('x', 3, () => false), undefined, 'none free');
  t.equal(pickFreeSlot('x', 0, () => true), undefined, 'an empty pool');
});

void t.test('both adapters parse their pool with the shared rule', async (t) => {
  t.same(parsePool('10.222.0.0/16'), { base: 0x0ade0000, prefix: 16 });
  t.same(subnetAt(parsePool('10.222.0.0/16'), 65), { network: 0x0ade0104, hostAddr: '10.222.1.5', unitAddr: '10.222.1.6' });
  t.throws(() => parsePool('10.222.0.0/29'), { code: 'HOLON_E_ISOLATION', kind: 'config', message: `isolation(linux): -: construct/egressPool: egressPool ${want} "10.222.0.0/29"` });
  t.throws(() => parsePool('10.222.0.1/16'), { code: 'HOLON_E_ISOLATION', kind: 'config', message: /egressPool 10\.222\.0\.1\/16 has host bits set \(the network is 10\.222\.0\.0\/16\)$/ });
  t.throws(() => parsePool('010.222.0.0/16'), { code: 'HOLON_E_ISOLATION', kind: 'config' }, 'leading zeros refused (the Linux adapter used to read them as decimal)');
  const bastille = (ipRange: string): unknown => createBastilleIsolation({ release: '14.2-RELEASE', ipRange, run: { run: () => Promise.reject(new Error('no tools in this test')), spawn: () => Promise.reject(new Error('no tools in this test')) } });
  t.throws(() => bastille('10.17.89.0/30'), { code: 'HOLON_E_ISOLATION_BASTILLE', kind: 'config', message: 'isolation(bastille): ipRange: must be an IPv4 CIDR with a prefix between /8 and /29, got "10.17.89.0/30"' });
  t.throws(() => bastille('10.17.89.7/24'), { kind: 'config', message: /ipRange: 10\.17\.89\.7\/24 has host bits set \(the network is 10\.17\.89\.0\/24\)$/ }, 'host bits refused (the Bastille adapter used to drop them silently)');
  t.doesNotThrow(() => bastille('10.17.89.0/29'));
});
