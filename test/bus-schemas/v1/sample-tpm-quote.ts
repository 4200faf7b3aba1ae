/**
 * A genuine TPM 2.0 quote for the samples: a TPMS_ATTEST of type quote over
 * PCRs 0–3 and 7 (sha256), signed by a fixed ECDSA P-256 AK created under a
 * fixed ECC EK, with the bootstrap's qualifying data as extraData. RFC 6979
 * signing keeps the bytes identical on every run; the orchestrator's
 * verifier (bus-schemas/tpm) accepts it.
 */
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '../../../bus-schemas/digest.js';
import { akQualifiedName, parseTpm2bPublic, quoteQualifyingData } from '../../../bus-schemas/tpm/index.js';
import type { TpmQuoteV1 } from '../../../bus-schemas/v1/tpm-quote.js';
import { b64, hex, SIGNERS, testBytes } from './sample-keys.js';

const u16 = (n: number): Uint8Array => Uint8Array.of(n >> 8, n & 0xff);
const u32 = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
const tpm2b = (body: Uint8Array): Uint8Array => cat(u16(body.length), body);

/** TPMT_PUBLIC of a restricted signing ECC P-256 key (the AK) or a decrypting one (the EK). */
function eccPublicArea(point: Uint8Array, sign: boolean): Uint8Array {
  const x = point.subarray(1, 33);
  const y = point.subarray(33, 65);
  const attributes = sign ? 0x00050072 : 0x000300b2; // restricted|sign|… for the AK; restricted|decrypt|… for the EK
  const scheme = sign ? cat(u16(0x0018), u16(0x000b)) : u16(0x0010); // ECDSA+SHA256 / NULL
  const symmetric = sign ? u16(0x0010) : cat(u16(0x0006), u16(128), u16(0x0043)); // NULL / AES-128-CFB
  return cat(u16(0x0023), u16(0x000b), u32(attributes), tpm2b(new Uint8Array(0)), symmetric, scheme, u16(0x0003), u16(0x0010), tpm2b(x), tpm2b(y));
}

export const AK_SECRET = testBytes('attestation-key');
export const PCR_INDICES = [0, 1, 2, 3, 7];
export const PCR_VALUES = PCR_INDICES.map((i) => hex(testBytes(`pcr-${i}`)));
export const AGENT_NONCE = testBytes('agent-nonce');
export const ORCHESTRATOR_NONCE = testBytes('orchestrator-nonce');
export const ACTIVATED_SECRET = testBytes('activated-secret');

export function tpmQuote(): TpmQuoteV1 {
  const akPublic = eccPublicArea(p256.getPublicKey(AK_SECRET, false), true);
  const ekPublic = eccPublicArea(p256.getPublicKey(testBytes('endorsement-key'), false), false);
  // The AK was created under the EK: the quote names it by its qualified name, and its
  // extraData binds the bootstrap (Nb, machine key, activated secret) as the verifier expects.
  const akName = akQualifiedName(parseTpm2bPublic(tpm2b(ekPublic)), parseTpm2bPublic(tpm2b(akPublic)));
  const extraData = quoteQualifyingData(ORCHESTRATOR_NONCE, SIGNERS.machine.publicKey, ACTIVATED_SECRET);
  const bitmap = new Uint8Array(3);
  for (const i of PCR_INDICES) bitmap[i >> 3] = (bitmap[i >> 3] ?? 0) | (1 << (i & 7));
  const pcrDigest = sha256(...PCR_VALUES.map((v) => Buffer.from(v, 'hex')));
  const attest = cat(
    u32(0xff544347),
    u16(0x8018),
    tpm2b(akName),
    tpm2b(extraData),
    new Uint8Array(8).fill(1), // clockInfo.clock
    u32(3), // resetCount
    u32(0), // restartCount
    Uint8Array.of(1), // safe
    new Uint8Array(8).fill(2), // firmwareVersion
    u32(1), // TPML_PCR_SELECTION.count
    u16(0x000b),
    Uint8Array.of(3),
    bitmap,
    tpm2b(pcrDigest),
  );
  const sig = p256.sign(attest, AK_SECRET); // prehash: SHA-256(TPMS_ATTEST), deterministic k
  const signature = cat(u16(0x0018), u16(0x000b), tpm2b(sig.subarray(0, 32)), tpm2b(sig.subarray(32, 64)));
  return {
    attest: b64(tpm2b(attest)),
    signature: b64(signature),
    signature_alg: 'ecdsa-p256-sha256',
    pcr_selection: { bank: 'sha256', pcrs: [...PCR_INDICES] },
    pcr_values: [...PCR_VALUES],
    ak_public: b64(tpm2b(akPublic)),
    ek_public: b64(tpm2b(ekPublic)),
  };
}
