import { array, boolean, enumeration, nullable, object, refine, string, type Infer, type Schema } from '../schema.js';
import { defineObject } from '../wire.js';
import { DnsNameSchema } from './network-address.js';

/**
 * PlatformReportV1: what the agent's probes found about the host. Part of
 * the machine attestation (signed by the machine key, and for the TPM part
 * bound to the quote); placement matches requests against it.
 */

/** Printable text: no C0/C1 control characters, no line breaks. */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
export const PRINTABLE_PATTERN = /^[^\u0000-\u001f\u007f-\u009f]*$/;

export function printable(max: number, description: string, min = 1): Schema<string> {
  return string({ min, max, pattern: PRINTABLE_PATTERN, format: 'printable text without control characters', description });
}

export const OS_FAMILIES = ['linux', 'freebsd'] as const;
export const OsFamilySchema = enumeration(OS_FAMILIES, 'operating system family');
export type OsFamily = Infer<typeof OsFamilySchema>;

/**
 * Architectures under one spelling: the agent maps `uname -m` (x86_64,
 * aarch64, armv7l …) and FreeBSD's `hw.machine_arch` (amd64, aarch64, armv7)
 * to these names, so a placement constraint means the same on both systems.
 */
export const ARCHITECTURES = ['amd64', 'arm64', 'i386', 'armv7', 'riscv64', 'ppc64le', 's390x'] as const;
export const ArchitectureSchema = enumeration(ARCHITECTURES, 'CPU architecture (amd64, arm64 …)');
export type Architecture = Infer<typeof ArchitectureSchema>;

/** systemd-detect-virt / FreeBSD kern.vm_guest, folded to one list; `none` is bare metal. */
export const VIRTUALIZATIONS = [
  'none',
  'kvm',
  'qemu',
  'xen',
  'vmware',
  'hyperv',
  'bhyve',
  'virtualbox',
  'parallels',
  'container',
  'jail',
  'other',
] as const;

export const TpmInfoV1Schema = refine(
  object(
    {
      present: boolean(),
      /** `null` exactly when no TPM is present. Only 2.0 can attest; 1.2 is reported so policy can say why. */
      version: nullable(enumeration(['1.2', '2.0'] as const)),
    },
    'TPM presence and version',
  ),
  (tpm) => {
    if (tpm.present && tpm.version === null) return { path: '.version', reason: 'version required when a TPM is present' };
    if (!tpm.present && tpm.version !== null) return { path: '.version', reason: 'version must be null when no TPM is present' };
    return undefined;
  },
);
export type TpmInfoV1 = Infer<typeof TpmInfoV1Schema>;

const TOOL_NAME = /^[a-z0-9][a-z0-9._+-]*$/;

export const InstalledToolV1Schema = object(
  {
    name: string({ min: 1, max: 64, pattern: TOOL_NAME, format: 'a lowercase tool name (bastille, tpm2-tools …)' }),
    version: printable(64, 'version string as the tool reports it'),
  },
  'an installed tool the isolation adapter or attestor relies on',
);
export type InstalledToolV1 = Infer<typeof InstalledToolV1Schema>;

/** Label keys: lowercase, optionally namespaced (`zone`, `holonet.io/disk`). */
export const LABEL_KEY_PATTERN = /^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?(?:\/[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?)?$/;

export const LabelV1Schema = object(
  {
    key: string({ min: 1, max: 127, pattern: LABEL_KEY_PATTERN, format: 'a label key like zone or holonet.io/disk' }),
    value: printable(256, 'label value', 0),
  },
  'a key/value label',
);
export type LabelV1 = Infer<typeof LabelV1Schema>;

/**
 * A list whose `key(item)` strings are strictly ascending: sorted, no
 * duplicates. One spelling per set keeps digests and seals stable. A
 * duplicate is named by the item itself when it is a string, else by its key.
 */
export function sortedUnique<T>(inner: Schema<T[]>, key: (item: T) => string, what: string): Schema<T[]> {
  return refine(inner, (items) => {
    for (let i = 1; i < items.length; i++) {
      const prev = key(items[i - 1] as T);
      const cur = key(items[i] as T);
      const shown = typeof items[i] === 'string' ? (items[i] as string) : cur;
      if (cur === prev) return { path: `[${i}]`, reason: `duplicate ${what} "${shown}"` };
      if (cur < prev) return { path: `[${i}]`, reason: `${what} out of order (must ascend)` };
    }
    return undefined;
  });
}

export const LabelsSchema = sortedUnique(array(LabelV1Schema, { max: 64 }), (l) => l.key, 'label key');

export const PlatformReportV1Schema = object(
  {
    os_family: OsFamilySchema,
    /** e.g. `14.1-RELEASE-p3`, `Debian GNU/Linux 12 (bookworm)` */
    os_release: printable(128, 'operating system release'),
    /** kernel release and version, e.g. `6.1.0-21-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.90-1` */
    kernel: printable(256, 'kernel release and version'),
    arch: ArchitectureSchema,
    hostname: DnsNameSchema,
    cpu_model: printable(128, 'CPU model name'),
    virtualization: enumeration(VIRTUALIZATIONS, 'virtualization the host runs under'),
    tpm: TpmInfoV1Schema,
    installed_tools: sortedUnique(array(InstalledToolV1Schema, { max: 64 }), (x) => x.name, 'tool name'),
    labels: LabelsSchema,
  },
  'PlatformReportV1: what the agent probes found about the host',
);
export type PlatformReportV1 = Infer<typeof PlatformReportV1Schema>;
export const PlatformReportV1 = defineObject('PlatformReportV1', PlatformReportV1Schema, { maxBytes: 32 * 1024 });
