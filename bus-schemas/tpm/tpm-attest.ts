import { TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE, hex16, hex32 } from './tpm-algorithms.js';
import { TpmReader } from './tpm-reader.js';
import { malformed } from './tpm-verify-error.js';

/**
 * TPMS_ATTEST for TPM2_Quote (Part 2 §10.12): what the AK signed. The
 * verifier checks the signature over `signed` — the TPMS_ATTEST bytes
 * exactly as the TPM produced them — and then trusts the fields parsed here.
 */

export interface TpmClockInfo {
  /** Milliseconds the TPM has been powered since TPM2_Clear (monotonic unless `safe` is false). */
  clock: bigint;
  /** TPM Reset (reboot) count. */
  resetCount: number;
  /** TPM Restart / Resume count since the last reset. */
  restartCount: number;
  /** No greater clock value has ever been reported (the clock was saved to NV in time). */
  safe: boolean;
}

/** One bank of a TPML_PCR_SELECTION: the hash algorithm and the selected PCR indices, ascending. */
export interface TpmPcrSelection {
  hashAlg: number;
  pcrs: number[];
}

export interface TpmQuoteAttest {
  /** The TPMS_ATTEST bytes the signature covers. */
  signed: Uint8Array;
  qualifiedSigner: Uint8Array;
  extraData: Uint8Array;
  clockInfo: TpmClockInfo;
  firmwareVersion: bigint;
  pcrSelection: TpmPcrSelection[];
  pcrDigest: Uint8Array;
}

/** TPMS_PCR_SELECTION.sizeofSelect is at least PCR_SELECT_MIN (3); no TPM has more than 32 PCRs per bank. */
const MAX_SIZEOF_SELECT = 4;
/** HASH_COUNT bound on TPML_PCR_SELECTION.count. */
const MAX_BANKS = 16;
const MAX_ATTEST = 0x1000;

/** Decode a TPML_PCR_SELECTION at the reader's position. */
export function readPcrSelectionList(r: TpmReader): TpmPcrSelection[] {
  const count = r.u32('pcrSelect.count');
  if (count > MAX_BANKS) throw malformed('TPML_PCR_SELECTION.count', `${count} banks exceeds ${MAX_BANKS}`);
  const out: TpmPcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const hashAlg = r.u16(`pcrSelections[${i}].hash`);
    const size = r.u8(`pcrSelections[${i}].sizeofSelect`);
    if (size > MAX_SIZEOF_SELECT) throw malformed(`TPML_PCR_SELECTION.pcrSelections[${i}]`, `sizeofSelect ${size} exceeds ${MAX_SIZEOF_SELECT}`);
    const bitmap = r.bytes(size, `pcrSelections[${i}].pcrSelect`);
    const pcrs: number[] = [];
    for (let bit = 0; bit < size * 8; bit++) if (((bitmap[bit >> 3] as number) >> (bit & 7)) & 1) pcrs.push(bit);
    out.push({ hashAlg, pcrs });
  }
  return out;
}

/** The TPMS_ATTEST inside `bytes`: a TPMS_ATTEST itself, or a TPM2B_ATTEST (size-prefixed). */
export function attestBody(bytes: Uint8Array): Uint8Array {
  // A TPMS_ATTEST starts with 0xff544347; a TPM2B_ATTEST's size is far below 0xff54, so the two never collide.
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0x54 && bytes[2] === 0x43 && bytes[3] === 0x47) return bytes;
  const r = new TpmReader(bytes, 'TPM2B_ATTEST');
  const body = r.tpm2b('attestationData', MAX_ATTEST);
  r.end();
  return body;
}

/**
 * Parse a quote's TPMS_ATTEST (or TPM2B_ATTEST). Refuses anything that is not
 * TPM-generated (magic), not a quote (type), or not exactly one structure.
 */
export function parseQuoteAttest(bytes: Uint8Array): TpmQuoteAttest {
  const signed = Uint8Array.from(attestBody(bytes));
  const r = new TpmReader(signed, 'TPMS_ATTEST');
  const magic = r.u32('magic');
  if (magic !== TPM_GENERATED_VALUE) throw malformed('TPMS_ATTEST.magic', `${hex32(magic)} is not TPM_GENERATED_VALUE (not made by a TPM)`);
  const type = r.u16('type');
  if (type !== TPM_ST_ATTEST_QUOTE) throw malformed('TPMS_ATTEST.type', `${hex16(type)} is not TPM_ST_ATTEST_QUOTE`);
  const qualifiedSigner = r.tpm2b('qualifiedSigner', 66);
  const extraData = r.tpm2b('extraData', 64);
  const clock = r.u64('clockInfo.clock');
  const resetCount = r.u32('clockInfo.resetCount');
  const restartCount = r.u32('clockInfo.restartCount');
  const safeByte = r.u8('clockInfo.safe');
  if (safeByte > 1) throw malformed('TPMS_ATTEST.clockInfo.safe', `TPMI_YES_NO must be 0 or 1, got ${safeByte}`);
  const firmwareVersion = r.u64('firmwareVersion');
  const pcrSelection = readPcrSelectionList(r);
  const pcrDigest = r.tpm2b('attested.quote.pcrDigest', 64);
  r.end();
  return {
    signed,
    qualifiedSigner,
    extraData,
    clockInfo: { clock, resetCount, restartCount, safe: safeByte === 1 },
    firmwareVersion,
    pcrSelection,
    pcrDigest,
  };
}
