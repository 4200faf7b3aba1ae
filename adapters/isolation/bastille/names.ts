/**
 * Unit names → jail names, and the rule that keeps every name the adapter
 * hands to Bastille out of Bastille's keyword space. Read in
 * BastilleBSD/bastille at tag 1.4.4 (commit 2280556b), usr/local/share/bastille:
 *
 * - common.sh `set_target`: a target matching `^[aA][lL][lL]$` is every jail
 *   on the host (`target_all_jails`); a digits-only target is a JID; an
 *   unknown name is autocompleted to the unique jail it prefixes, else looked
 *   up as a tag in every jail's `tags` file.
 * - destroy.sh: before any jail lookup, a target matching a release pattern
 *   (`*-RELEASE|*-release|*-RC[1-9]|*-rc[1-9]|*-BETA[1-9]`, `*-CURRENT|*-current`,
 *   `*-stable-LAST|*-stable-last`, `*-stable-build-*`, `current-build-*`,
 *   `[2-4].[0-9]*`, `Ubuntu_*`, `Debian1[0-2]`) is treated as a release: the
 *   name is then re-validated and, when it is not a real release name, usage is
 *   printed and destroy exits 1 — such a jail can never be destroyed.
 * - stop.sh: every other jail whose `settings.conf` contains the name as a word
 *   (`grep -hoqsw`) is stopped first; each settings.conf holds `boot="on"`,
 *   `depend=""`, `priority="99"`, so `on`, `boot`, `off`, `depend`,
 *   `priority` stop other tenants' jails (and `destroy -a` calls stop).
 * - create.sh `validate_name`: VNET jail names may not contain `-` or `_`;
 *   names may not start with `-`/`_`, hold other special characters, or be
 *   digits only.
 *
 * So unit names carry a reserved prefix and a checked character set:
 * `u-` followed by lowercase letters and digits (the orchestrator's
 * `u-<12 hex>` names fit). Everything else is refused before any command
 * runs. The jail is the unit name without its dash (`u-3f9a0c2d1b4e` →
 * `u3f9a0c2d1b4e`): a VNET-legal name that can match none of the patterns
 * above. Names of 12 or more characters make Bastille name the host side
 * of the epair `e0a_bastilleN` (common.sh `generate_vnet_jail_netblock`,
 * IFNAMSIZ): the adapter reads the name back from jail.conf and records it.
 */
import { UNIT_NAME_PATTERN } from '../../../bus-schemas/units/port.js';
import { BastilleError } from './bastille-error.js';

/** The adapter's unit names: the reserved prefix `u-`, then 1–30 lowercase letters or digits (a subset of UNIT_NAME_PATTERN). */
export const BASTILLE_UNIT_NAME = /^u-[a-z0-9]{1,30}$/;

const RELEASE_TARGETS: readonly RegExp[] = [
  /-(CURRENT|CURRENT-I386|CURRENT-i386|current)$/,
  /-(RELEASE|RELEASE-I386|RELEASE-i386|release|RC[1-9]|rc[1-9]|BETA[1-9])$/,
  /-(stable-LAST|STABLE-last|stable-last|STABLE-LAST)$/,
  /-(stable-build|STABLE-BUILD)-[0-9]/,
  /-(stable-build-latest|stable-BUILD-LATEST|STABLE-BUILD-LATEST)$/,
  /^(current|CURRENT)-(build|BUILD)-/,
  /^[2-4]\.[0-9]/,
  /^(Ubuntu|UBUNTU)_(1804|2004|2204)$/,
  /^(Debian|DEBIAN)1[0-2]$/,
];
const SETTINGS_WORDS = new Set(['boot', 'on', 'off', 'depend', 'priority']);

/** What Bastille 1.4.4 would make of `name` as a target or a new jail's name, or undefined when it is a plain jail name. */
export function bastilleHazard(name: string): string | undefined {
  if (/^[aA][lL][lL]$/.test(name)) return 'common.sh set_target takes ALL for every jail on the host';
  if (/^[0-9]+$/.test(name)) return 'common.sh set_target takes a digits-only target for a JID';
  if (RELEASE_TARGETS.some((p) => p.test(name))) return 'destroy.sh takes it for a release name: the jail could never be destroyed';
  if (SETTINGS_WORDS.has(name)) return "stop.sh greps every jail's settings.conf for the name as a word: stopping it stops other jails";
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_-]*$/.test(name)) return 'create.sh validate_name refuses special characters and a leading - or _';
  if (/[-_]/.test(name)) return 'create.sh validate_name refuses - and _ in VNET jail names';
  return undefined;
}

/** The unit name, checked against the port's pattern and the adapter's reserved prefix; `refused` before any command otherwise. */
export function checkUnitName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !UNIT_NAME_PATTERN.test(name) || !BASTILLE_UNIT_NAME.test(name)) {
    const shown = JSON.stringify(typeof name === 'string' ? name.slice(0, 40) : name);
    const hazard = typeof name === 'string' ? bastilleHazard(name) : undefined;
    throw new BastilleError(
      'refused',
      what,
      `unit name ${shown} must be u- followed by lowercase letters and digits (${String(BASTILLE_UNIT_NAME)}), the reserved prefix that keeps unit names out of Bastille's targets${hazard === undefined ? '' : `; as given, ${hazard}`}`,
    );
  }
  return name;
}

/** The jail of a (checked) unit: the unit name without its dash. */
export function jailNameOf(unit: string): string {
  const jail = unit.replace('-', '');
  const hazard = bastilleHazard(jail);
  if (hazard !== undefined) throw new BastilleError('refused', `jail ${jail}`, hazard);
  return jail;
}
