import { TPM_ALG, digest, hashInfo, hex16, toHex, type TpmHashName } from './tpm-algorithms.js';
import type { TpmPcrSelection } from './tpm-attest.js';
import { TpmVerifyError, malformed } from './tpm-verify-error.js';

/**
 * PCR selections, the quote's PCR digest and golden-value policies. A
 * selection here is one bank and its ascending PCR indices — the shape of
 * the wire's PcrSelectionV1 — so the orchestrator can pass it straight in.
 */

export type PcrBank = TpmHashName;

export interface PcrSelection {
  bank: PcrBank;
  /** Ascending, unique PCR indices. */
  pcrs: readonly number[];
}

/**
 * Golden values: for each PCR the policy cares about, the values it accepts
 * (lowercase hex of the bank's digest size). Several values per PCR let a
 * fleet roll between firmware or kernel versions.
 */
export interface PcrPolicy {
  bank: PcrBank;
  allowed: Readonly<Record<number, readonly string[]>>;
}

const BANK_ALG: Record<PcrBank, number> = { sha1: TPM_ALG.SHA1, sha256: TPM_ALG.SHA256, sha384: TPM_ALG.SHA384, sha512: TPM_ALG.SHA512 };

export function bankAlg(bank: PcrBank): number {
  const alg = BANK_ALG[bank] as number | undefined;
  if (alg === undefined) throw new TpmVerifyError('unsupported', 'PCR bank', `bank ${String(bank)} is not supported`);
  return alg;
}

function describe(sel: readonly TpmPcrSelection[]): string {
  if (sel.length === 0) return 'nothing';
  return sel.map((s) => `${hex16(s.hashAlg)}:[${s.pcrs.join(',')}]`).join(' ');
}

/**
 * Refuse unless the quote selected exactly `asked`: one bank, the same hash,
 * the same PCR indices. A quote over fewer PCRs proves less than asked; a
 * quote over other PCRs or banks proves something else.
 */
export function checkPcrSelection(quoted: readonly TpmPcrSelection[], asked: PcrSelection): void {
  const alg = bankAlg(asked.bank);
  const banks = quoted.filter((s) => s.pcrs.length > 0);
  const only = banks[0];
  const same =
    banks.length === 1 &&
    only !== undefined &&
    only.hashAlg === alg &&
    only.pcrs.length === asked.pcrs.length &&
    only.pcrs.every((p, i) => p === asked.pcrs[i]);
  if (!same) {
    throw new TpmVerifyError('pcrSelection', 'TPMS_QUOTE_INFO.pcrSelect', `quoted ${describe(quoted)}, asked ${asked.bank}:[${asked.pcrs.join(',')}]`);
  }
}

/** Refuse PCR values that are not one digest of the bank's size per selected PCR. */
export function checkPcrValueShapes(selection: PcrSelection, values: readonly Uint8Array[]): void {
  const size = hashInfo(bankAlg(selection.bank), 'PCR bank').size;
  if (values.length !== selection.pcrs.length) {
    throw malformed('pcrValues', `${values.length} values for ${selection.pcrs.length} selected PCRs`);
  }
  values.forEach((v, i) => {
    if (v.length !== size) throw malformed(`pcrValues[${i}]`, `${v.length} bytes, a ${selection.bank} PCR has ${size}`);
  });
}

/** The quote's pcrDigest: H_signHash(value_0 ‖ value_1 ‖ …) in selection order. */
export function pcrDigestOf(signHashAlg: number, values: readonly Uint8Array[]): Uint8Array {
  return digest(signHashAlg, ...values);
}

/** Refuse unless every PCR the policy names was quoted with one of its allowed values. */
export function checkPcrPolicy(policy: PcrPolicy, selection: PcrSelection, values: readonly Uint8Array[]): void {
  if (policy.bank !== selection.bank) {
    throw new TpmVerifyError('pcrPolicy', 'PCR policy', `policy is for the ${policy.bank} bank, the quote is over ${selection.bank}`);
  }
  for (const [key, allowed] of Object.entries(policy.allowed)) {
    const pcr = Number(key);
    const at = selection.pcrs.indexOf(pcr);
    const value = at < 0 ? undefined : values[at];
    if (value === undefined) {
      throw new TpmVerifyError('pcrPolicy', `PCR ${pcr}`, 'required by the policy but not quoted');
    }
    const actual = toHex(value);
    if (!allowed.some((a) => a.toLowerCase() === actual)) {
      throw new TpmVerifyError('pcrPolicy', `PCR ${pcr}`, `value ${actual} is not one of the ${allowed.length} golden value(s)`);
    }
  }
}

/** Decode lowercase-hex PCR values (the wire form) into bytes, refusing non-hex. */
export function pcrValuesFromHex(values: readonly string[]): Uint8Array[] {
  return values.map((v, i) => {
    if (!/^(?:[0-9a-f]{2})+$/.test(v)) throw malformed(`pcrValues[${i}]`, 'not lowercase hex');
    return Uint8Array.from(Buffer.from(v, 'hex'));
  });
}
