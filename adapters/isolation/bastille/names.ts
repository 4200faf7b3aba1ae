/**
 * Unit names → jail names. The jail is named exactly like the unit (so jls,
 * rctl and operators see the same name), which puts two limits on units with
 * a network link, both refused before any command runs:
 *
 * - Bastille 1.4 refuses VNET jail names containing `-` or `_`
 *   (create.sh validate_name: "VNET jail names may not contain (-|_) characters.").
 * - The host side of the epair is `e0a_<name>`; FreeBSD interface names have
 *   IFNAMSIZ = 16 bytes including the NUL, so `e0a_` + name must fit in 15:
 *   name ≤ 11 characters. Longer names make Bastille 1.4 fall back to
 *   `e0a_bastilleN` (common.sh generate_vnet_jail_netblock), a name the adapter
 *   could only learn back from jail.conf — refused instead, so the metered link
 *   is always `e0a_<unit>`.
 */
import { UNIT_NAME_PATTERN, type UnitNetwork } from '../../../bus-schemas/units/port.js';
import { BastilleError } from './bastille-error.js';

/** FreeBSD IFNAMSIZ (16) minus the terminating NUL. */
export const IFNAMSIZ_USABLE = 15;
export const EPAIR_HOST_PREFIX = 'e0a_';
export const MAX_VNET_NAME = IFNAMSIZ_USABLE - EPAIR_HOST_PREFIX.length;

export function checkUnitName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !UNIT_NAME_PATTERN.test(name)) {
    throw new BastilleError('refused', what, `unit name ${JSON.stringify(name)} does not match ${String(UNIT_NAME_PATTERN)}`);
  }
  return name;
}

/** The host-side epair name for an egress unit; throws `refused` when it cannot fit or Bastille would refuse the name. */
export function hostEpairName(name: string, network: UnitNetwork, what: string): string | undefined {
  if (network !== 'egress') return undefined;
  if (/[-_]/.test(name)) {
    throw new BastilleError('refused', what, `unit ${name}: Bastille VNET jail names may not contain '-' or '_' (network=egress needs a VNET jail)`);
  }
  const link = `${EPAIR_HOST_PREFIX}${name}`;
  if (link.length > IFNAMSIZ_USABLE) {
    throw new BastilleError(
      'refused',
      what,
      `unit ${name}: host link ${link} is ${link.length} characters; FreeBSD interface names hold ${IFNAMSIZ_USABLE} (IFNAMSIZ), so egress unit names may have at most ${MAX_VNET_NAME}`,
    );
  }
  return link;
}
