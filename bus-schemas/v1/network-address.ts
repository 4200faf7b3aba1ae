import { integer, literal, object, optional, refine, string, tagged, type Infer, type Schema } from '../schema.js';
import { defineObject } from '../wire.js';

/**
 * NetworkAddressV1: one address a machine can be reached at (the RFC's
 * `NetworkAddress`). Informational for placement (locality, measured RTT);
 * the bus itself is the only channel Holonet talks over.
 *
 * The address text is checked strictly here, without node:net (bus-schemas
 * does no I/O and must run anywhere):
 * - ipv4: dotted quad, each octet 0–255 written without leading zeros
 *   (`010.0.0.1` is refused: some stacks read it as octal).
 * - ipv6: the RFC 4291 §2.2 text forms (eight groups, one `::`, an embedded
 *   dotted quad in the last 32 bits), hex digits in either case, no zone
 *   index (`%eth0`): the interface has its own field.
 * - dns: an RFC 1123 host name, labels 1–63 characters, 253 in all, no
 *   trailing dot, and a top-level label that is not all digits (RFC 3696 §2)
 *   so a mistyped IPv4 address is never read as a name.
 */

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
export const IPV4_PATTERN = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

/** Why `text` is not an RFC 4291 IPv6 address, or undefined if it is one. */
export function checkIpv6Text(text: string): string | undefined {
  if (text.length < 2 || text.length > 45) return 'expected an IPv6 address of 2 to 45 characters';
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return 'IPv6 address may contain only hex digits, ":" and "."';
  let head = text;
  let tailGroups = 0;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    const quad = text.slice(lastColon + 1);
    if (!IPV4_PATTERN.test(quad)) return 'embedded IPv4 part is not a dotted quad';
    head = text.slice(0, lastColon + 1);
    // "::1.2.3.4" leaves "::", "a::1.2.3.4" leaves "a::"; a plain "a:1.2.3.4" leaves "a:".
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
    tailGroups = 2;
  }
  const halves = head.split('::');
  if (halves.length > 2) return 'more than one "::" in IPv6 address';
  const groupsOf = (part: string): string[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    return groups.every((g) => g.length >= 1 && g.length <= 4) ? groups : undefined;
  };
  const left = groupsOf(halves[0] ?? '');
  const right = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (left === undefined || right === undefined) return 'IPv6 group must be 1 to 4 hex digits';
  const count = left.length + right.length + tailGroups;
  if (halves.length === 2) {
    if (count > 7) return '"::" must stand for at least one group';
  } else if (count !== 8) {
    return `expected 8 IPv6 groups, got ${count}`;
  }
  return undefined;
}

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Why `text` is not an RFC 1123 host name, or undefined if it is one. */
export function checkDnsName(text: string): string | undefined {
  if (text.length < 1 || text.length > 253) return 'DNS name must be 1 to 253 characters';
  const labels = text.split('.');
  for (const label of labels) {
    if (!DNS_LABEL.test(label)) return `DNS label "${label.slice(0, 63)}" is not 1–63 letters, digits or inner hyphens`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return 'top-level DNS label must not be all digits';
  return undefined;
}

/** Adds a JSON Schema `format` annotation to a string schema (validators in other languages use it). */
export function withFormat<T>(inner: Schema<T>, format: string): Schema<T> {
  return { parseAt: (input, path) => inner.parseAt(input, path), jsonSchema: () => ({ ...inner.jsonSchema(), format }) };
}

export const Ipv4TextSchema = withFormat(
  string({ min: 7, max: 15, pattern: IPV4_PATTERN, format: 'a dotted-quad IPv4 address without leading zeros' }),
  'ipv4',
);

export const Ipv6TextSchema = withFormat(
  refine(string({ min: 2, max: 45, pattern: /^[0-9A-Fa-f:.]+$/, format: 'an IPv6 address (RFC 4291)' }), checkIpv6Text),
  'ipv6',
);

/** An RFC 1123 host name; also used for the hostname of a platform report. */
export const DnsNameSchema = withFormat(
  refine(string({ min: 1, max: 253, pattern: /^[A-Za-z0-9.-]+$/, format: 'an RFC 1123 host name' }), checkDnsName),
  'hostname',
);

/** Interface names are at most 15 bytes on Linux and FreeBSD (IFNAMSIZ 16 with the NUL). */
export const InterfaceNameSchema = string({
  min: 1,
  max: 15,
  pattern: /^[A-Za-z0-9_.:-]+$/,
  format: 'an interface name (letters, digits, _ . : -)',
});

const PortSchema = integer({ min: 1, max: 65_535, description: 'TCP/UDP port' });

function variant<K extends 'ipv4' | 'ipv6' | 'dns'>(kind: K, address: Schema<string>) {
  return object(
    {
      kind: literal(kind),
      address,
      port: optional(PortSchema),
      interface: optional(InterfaceNameSchema),
    },
    `NetworkAddressV1 (${kind})`,
  );
}

export const NetworkAddressV1Schema = tagged('kind', {
  ipv4: variant('ipv4', Ipv4TextSchema),
  ipv6: variant('ipv6', Ipv6TextSchema),
  dns: variant('dns', DnsNameSchema),
});
export type NetworkAddressV1 = Infer<typeof NetworkAddressV1Schema>;
export const NetworkAddressV1 = defineObject('NetworkAddressV1', NetworkAddressV1Schema, { maxBytes: 512 });
