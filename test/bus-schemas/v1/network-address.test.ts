import t from 'tap';
import { MalformedError } from '../../../bus-schemas/errors.js';
import { NetworkAddressV1 } from '../../../bus-schemas/v1/network-address.js';
import { refusesExactly as refuses } from './refuses-exactly.js';

const at = (kind: 'ipv4' | 'ipv6' | 'dns', address: string): unknown => ({ kind, address });

void t.test('IPv4: dotted quads only, octets 0–255 without leading zeros', async (t) => {
  for (const a of ['0.0.0.0', '192.0.2.10', '255.255.255.255', '10.0.0.1', '100.64.0.9']) {
    t.same(NetworkAddressV1.parse(at('ipv4', a)), at('ipv4', a), a);
  }
  const reason = 'expected a dotted-quad IPv4 address without leading zeros';
  for (const a of ['256.1.1.1', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '1.2.3.4 ', '1..2.3.4', '1.2.3.-4', '1.2.3.4/24', '::ffff:1.2.3.4']) {
    refuses(t, () => NetworkAddressV1.parse(at('ipv4', a)), { path: '$.address', reason }, JSON.stringify(a));
  }
  refuses(t, () => NetworkAddressV1.parse(at('ipv4', '1.2.3')), { path: '$.address', reason: 'string shorter than 7' });
});

void t.test('IPv6: RFC 4291 text forms', async (t) => {
  const good = [
    '::',
    '::1',
    '2001:db8::1',
    'fe80::1:2:3:4',
    '2001:0db8:0000:0000:0000:ff00:0042:8329',
    '::ffff:192.0.2.1',
    '64:ff9b::192.0.2.33',
    '1:2:3:4:5:6:1.2.3.4',
    '1:2:3:4:5:6:7::',
    '::2:3:4:5:6:7:8',
    'ABCD::EF',
  ];
  for (const a of good) t.same(NetworkAddressV1.parse(at('ipv6', a)), at('ipv6', a), a);
  const bad: [string, string][] = [
    ['1::2::3', 'more than one "::" in IPv6 address'],
    ['12345::1', 'IPv6 group must be 1 to 4 hex digits'],
    [':1:2:3:4:5:6:7', 'IPv6 group must be 1 to 4 hex digits'],
    ['1:2:3:4:5:6:7:', 'IPv6 group must be 1 to 4 hex digits'],
    [':::', 'IPv6 group must be 1 to 4 hex digits'],
    ['1:2:3:4:5:6:7', 'expected 8 IPv6 groups, got 7'],
    ['1:2:3:4:5:6:7:8:9', 'expected 8 IPv6 groups, got 9'],
    ['1:2:3:4:5:6:7:1.2.3.4', 'expected 8 IPv6 groups, got 9'],
    ['1.2.3.4', 'expected 8 IPv6 groups, got 2'],
    ['1:2:3:4:5:6:7:8::', '"::" must stand for at least one group'],
    ['::1.2.3', 'embedded IPv4 part is not a dotted quad'],
    ['::ffff:01.2.3.4', 'embedded IPv4 part is not a dotted quad'],
    ['1.2.3.4::', 'embedded IPv4 part is not a dotted quad'],
    ['fe80::1%eth0', 'expected an IPv6 address (RFC 4291)'],
    ['2001:db8::g', 'expected an IPv6 address (RFC 4291)'],
  ];
  for (const [a, reason] of bad) refuses(t, () => NetworkAddressV1.parse(at('ipv6', a)), { path: '$.address', reason }, a);
});

void t.test('DNS: RFC 1123 host names, never an all-digit top-level label', async (t) => {
  for (const a of ['example.net', 'build-01.example.net', 'localhost', 'a', 'xn--bcher-kva.example', `${'a'.repeat(63)}.net`]) {
    t.same(NetworkAddressV1.parse(at('dns', a)), at('dns', a), a);
  }
  const label = (l: string): string => `DNS label "${l}" is not 1–63 letters, digits or inner hyphens`;
  const bad: [string, string][] = [
    ['example..net', label('')],
    ['example.net.', label('')],
    ['-a.example', label('-a')],
    ['a-.example', label('a-')],
    [`${'a'.repeat(64)}.net`, label('a'.repeat(63))],
    ['1.2.3.4', 'top-level DNS label must not be all digits'],
    ['host.123', 'top-level DNS label must not be all digits'],
    ['host_name.example', 'expected an RFC 1123 host name'],
    ['exämple.net', 'expected an RFC 1123 host name'],
  ];
  for (const [a, reason] of bad) refuses(t, () => NetworkAddressV1.parse(at('dns', a)), { path: '$.address', reason }, a);
  refuses(t, () => NetworkAddressV1.parse(at('dns', `${'a.'.repeat(127)}ab`)), { path: '$.address', reason: 'string longer than 253' });
});

void t.test('port, interface and kind', async (t) => {
  const base = { kind: 'ipv4', address: '192.0.2.1' };
  t.same(NetworkAddressV1.parse({ ...base, port: 1, interface: 'vtnet0.100' }), { ...base, port: 1, interface: 'vtnet0.100' });
  refuses(t, () => NetworkAddressV1.parse({ ...base, port: 0 }), { path: '$.port', reason: 'integer below minimum 1' });
  refuses(t, () => NetworkAddressV1.parse({ ...base, port: 65_536 }), { path: '$.port', reason: 'integer above maximum 65535' });
  refuses(t, () => NetworkAddressV1.parse({ ...base, port: 80.5 }), { path: '$.port', reason: 'expected a safe integer' });
  refuses(t, () => NetworkAddressV1.parse({ ...base, interface: 'x'.repeat(16) }), { path: '$.interface', reason: 'string longer than 15' });
  refuses(t, () => NetworkAddressV1.parse({ ...base, interface: 'eth 0' }), {
    path: '$.interface',
    reason: 'expected an interface name (letters, digits, _ . : -)',
  });
  refuses(t, () => NetworkAddressV1.parse({ ...base, kind: 'ipx' }), { path: '$.kind', reason: 'expected one of ipv4, ipv6, dns' });
  refuses(t, () => NetworkAddressV1.parse({ address: '192.0.2.1' }), { path: '$.kind', reason: 'expected one of ipv4, ipv6, dns' });
  refuses(t, () => NetworkAddressV1.parse({ kind: 'ipv4', address: '2001:db8::1' }), MalformedError, 'an IPv6 address under kind ipv4');
  refuses(t, () => NetworkAddressV1.parse({ kind: 'ipv6', address: 'example.net' }), { path: '$.address' }, 'a name under kind ipv6');
  refuses(t, () => NetworkAddressV1.parse({ ...base, zone: 'eth0' }), { path: '$.zone', reason: 'unknown field' });
});

void t.test('the published schema carries the address formats', async (t) => {
  const variants = NetworkAddressV1.jsonSchema().oneOf as { properties: { address: { format: string } } }[];
  t.same(
    variants.map((v) => v.properties.address.format),
    ['ipv4', 'ipv6', 'hostname'],
  );
});
