/**
 * What the adapter needs from Bastille's own configuration
 * (`/usr/local/etc/bastille/bastille.conf`, a sh file every Bastille command
 * sources — usr/local/bin/bastille and common.sh at tag 1.4.4):
 *
 * - `bastille_jailsdir` (default `${bastille_prefix}/jails`): must be the
 *   adapter's jails directory, or the adapter would check the wrong place;
 * - `bastille_zfs_enable` (rc.conf-style yes/no, common.sh `checkyesno`) and
 *   `bastille_zfs_zpool`/`bastille_zfs_prefix`: with both, create.sh makes the
 *   dataset `<zpool>/<prefix>/jails/<NAME>` (and `…/root` for thin jails),
 *   which is where usage() reads `used` from;
 * - `bastille_network_vnet_type` (`if_bridge`, the default, or `netgraph`):
 *   with netgraph, common.sh `generate_vnet_jail_netblock` gives the jail
 *   `ng0_<NAME>` through jng(8) instead of an epair; the adapter refuses egress
 *   units up front rather than after the jail exists.
 *
 * Only plain assignments are read (`name="value"`, `name='value'`, `name=value`,
 * with `${name}` of earlier assignments expanded): what bastille.conf.sample
 * holds. Anything else in the file is ignored, never executed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BastilleError } from './bastille-error.js';

export interface BastilleConf {
  jailsDir: string;
  /** the jails' datasets live under `<pool>/<prefix>/jails`; undefined without ZFS */
  zfs: { pool: string; prefix: string } | undefined;
  vnetType: string;
}

/** The `name=value` assignments of a sh config file, `${name}` of earlier ones expanded. */
export function parseShAssignments(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  const expand = (v: string): string => v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, n: string) => vars.get(n) ?? '');
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|'([^']*)'|([^\s#;'"]*))\s*(?:#.*)?$/.exec(line);
    if (m === null) continue;
    const [, name, dq, sq, bare] = m;
    vars.set(name as string, sq !== undefined ? sq : expand(dq ?? bare ?? ''));
  }
  return vars;
}

/** common.sh `checkyesno` (copied there from rc.subr): YES/TRUE/ON/1 in any case. */
function yes(v: string | undefined): boolean {
  return v !== undefined && /^(yes|true|on|1)$/i.test(v);
}

export function bastilleConfOf(text: string): BastilleConf {
  const v = parseShAssignments(text);
  const prefix = v.get('bastille_prefix') || '/usr/local/bastille';
  const pool = v.get('bastille_zfs_zpool') ?? '';
  return {
    jailsDir: v.get('bastille_jailsdir') || join(prefix, 'jails'),
    zfs: yes(v.get('bastille_zfs_enable')) && pool !== '' ? { pool, prefix: v.get('bastille_zfs_prefix') || 'bastille' } : undefined,
    vnetType: v.get('bastille_network_vnet_type') || 'if_bridge',
  };
}

/** Read and check bastille.conf against the adapter's jails directory; a `config` error when it cannot be used. */
export function readBastilleConf(path: string, jailsDir: string): BastilleConf {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BastilleError('config', 'bastilleConfig', `cannot read ${path} (Bastille's own configuration; run \`bastille setup\` or point the option at it): ${(e as Error).message}`, { cause: e });
  }
  const conf = bastilleConfOf(text);
  if (conf.jailsDir !== jailsDir) {
    throw new BastilleError('config', 'bastillePrefix', `${path} puts jails in ${conf.jailsDir}, the adapter looks in ${jailsDir}: set bastillePrefix to match bastille_prefix`);
  }
  return conf;
}
