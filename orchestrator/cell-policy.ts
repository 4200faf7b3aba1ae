/**
 * From the principal's PolicyV1 and the local configuration to what the pure
 * bootstrap checks need (bus-schemas/bootstrap/cell-side.ts): the TPM mode,
 * EK trust (CA anchors from the config; pre-approved EK hashes from the policy
 * are also trusted without a certificate), the PCR selection, golden values
 * per machine class, nonce lifetime, clock skew, admission (kind, epoch and
 * the difficulty adapted to the hello rate).
 */
import { admissionSettings, requirementAt } from '../bus-schemas/admission/adaptive.js';
import type { AdmissionRequirement } from '../bus-schemas/admission/requirement.js';
import type { CellBootstrapPolicy } from '../bus-schemas/bootstrap/cell-side.js';
import type { PcrPolicy } from '../bus-schemas/tpm/index.js';
import type { PolicyV1, PreapprovedEkV1 } from '../bus-schemas/v1/policy.js';
import type { OrchestratorConfig } from './config.js';
import type { CellMaterial } from './cell-material.js';

/** `sha256:<hex>` (HelloFacts.ekHash) → the policy's bare hex form. */
export function ekHex(ekHash: string): string {
  return ekHash.startsWith('sha256:') ? ekHash.slice('sha256:'.length) : ekHash;
}

export function preapprovalFor(policy: PolicyV1, ekHash: string | null): PreapprovedEkV1 | undefined {
  if (ekHash === null) return undefined;
  const hex = ekHex(ekHash);
  return policy.preapproved_eks.find((e) => e.ek_sha256 === hex);
}

/** Golden PCR values of a machine class as the quote verifier takes them; undefined: no class or no golden values. */
export function pcrPolicyFor(policy: PolicyV1, machineClass: string | null | undefined): PcrPolicy | undefined {
  if (machineClass === null || machineClass === undefined) return undefined;
  const golden = policy.pcr_golden.find((g) => g.machine_class === machineClass);
  if (golden === undefined) return undefined;
  const allowed: Record<number, string[]> = {};
  for (const p of golden.pcrs) allowed[p.index] = [p.digest];
  return { bank: golden.bank, allowed };
}

/** The first PCR whose quoted value is not the golden one, or undefined when all match. */
export function pcrMismatch(policy: PcrPolicy, quoted: { bank: string; pcrs: number[]; values: string[] }): string | undefined {
  if (policy.bank !== quoted.bank) return `golden values are for the ${policy.bank} bank, the quote is over ${quoted.bank}`;
  for (const [key, allowed] of Object.entries(policy.allowed)) {
    const at = quoted.pcrs.indexOf(Number(key));
    const value = at < 0 ? undefined : quoted.values[at];
    if (value === undefined) return `PCR ${key} has a golden value but was not quoted`;
    if (!allowed.includes(value)) return `PCR ${key} is ${value}, not a golden value`;
  }
  return undefined;
}

export function cellBootstrapPolicy(cfg: OrchestratorConfig, cell: CellMaterial, machineClass?: string | null): CellBootstrapPolicy {
  const pcrPolicy = pcrPolicyFor(cell.policy, machineClass);
  return {
    tpm: cell.policy.tpm,
    ekRoots: cell.ekRoots,
    ekIntermediates: cell.ekIntermediates,
    ekAllowList: cell.policy.preapproved_eks.map((e) => `sha256:${e.ek_sha256}`),
    pcrSelection: cfg.pcrSelection,
    ...(pcrPolicy !== undefined ? { pcrPolicy } : {}),
    maxClockSkewMs: cfg.maxClockSkewMs,
    challengeTtlMs: cfg.challengeTtlMs ?? cell.policy.nonce_lifetime_ms,
    deniedJurisdictions: cell.policy.denied_jurisdictions,
    trustedProviders: cfg.trustedProviders,
  };
}

/**
 * The admission proof a hello must carry now: the policy's kind, epoch =
 * floor(now / admission_epoch_ms), and the work adapted to `recentRate`
 * (admitted hellos over the last minute; 0 = quiet, the base difficulty).
 */
export function admissionAt(cfg: OrchestratorConfig, policy: PolicyV1, now: number, recentRate = 0): AdmissionRequirement {
  return requirementAt(admissionSettings(policy), Math.floor(now / cfg.admissionEpochMs), recentRate);
}
