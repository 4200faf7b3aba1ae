/**
 * The agent's TPM half of the bootstrap, over the TpmPort: what goes in the
 * hello (EK, EK certificate, AK), and the answer to a challenge — activate
 * the cell's credential, then quote the requested PCRs over
 * H(Nb ‖ machine key ‖ secret) (DESIGN §3 step 3; the same shape as
 * test/bootstrap/protocol.test.ts). The TPM policy decides what a missing or
 * broken TPM means: `required` stops the agent, `auto` continues without.
 */
import type { Logger } from 'pino';
import { marshalTpm2b, quoteQualifyingData } from '../bus-schemas/tpm/index.js';
import type { BootstrapChallengeV1 } from '../bus-schemas/v1/bootstrap-challenge.js';
import type { BootstrapHelloV1 } from '../bus-schemas/v1/bootstrap-hello.js';
import type { TpmQuoteV1 } from '../bus-schemas/v1/tpm-quote.js';
import { HolonError } from '../bus-schemas/errors.js';
import type { TpmPolicy } from './config.js';
import type { TpmPort } from './host-ports.js';

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** The TPM could not be used although policy requires it. */
export class TpmUnavailableError extends HolonError {
  static readonly CODE = 'HOLON_E_AGENT_TPM';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(TpmUnavailableError.CODE, `agent: TPM required by tpm.mode but unusable: ${reason}`, options);
  }
}

/** The `tpm` part of the hello, or undefined for a software-only hello. */
export async function helloTpm(tpm: TpmPort | undefined, policy: TpmPolicy, log: Logger): Promise<BootstrapHelloV1['tpm']> {
  if (policy === 'off') return undefined;
  if (tpm === undefined) {
    if (policy === 'required') throw new TpmUnavailableError('no TPM attestor is configured');
    return undefined;
  }
  try {
    const id = await tpm.provision();
    return {
      ek_public: b64u(id.ekPublic),
      ak_public: b64u(id.akPublic),
      ...(id.ekCertificate !== undefined ? { ek_certificate: b64u(id.ekCertificate) } : {}),
    };
  } catch (e) {
    if (policy === 'required') throw new TpmUnavailableError((e as Error).message, { cause: e });
    log.warn({ err: e }, 'TPM unusable; tpm.mode is auto, so bootstrapping software-only');
    return undefined;
  }
}

/** TPMT_SIGNATURE starts with its sigAlg (TPM_ALG_ECDSA 0x0018, TPM_ALG_RSASSA 0x0014). */
function signatureAlg(sig: Uint8Array): TpmQuoteV1['signature_alg'] {
  const alg = sig.length >= 2 ? ((sig[0] as number) << 8) | (sig[1] as number) : 0;
  return alg === 0x0014 ? 'rsassa-sha256' : 'ecdsa-p256-sha256';
}

/** Activate the credential and quote over the binding; `hello.tpm` names the AK and EK the quote is by. */
export async function answerChallenge(tpm: TpmPort, challenge: BootstrapChallengeV1, hello: BootstrapHelloV1, machineKey: Uint8Array): Promise<TpmQuoteV1> {
  const cred = challenge.credential;
  const sel = challenge.pcr_selection;
  if (cred === undefined || sel === undefined || hello.tpm === undefined) throw new TpmUnavailableError('no TPM challenge to answer');
  const secret = await tpm.activateCredential(Buffer.from(cred.id_object, 'base64url'), Buffer.from(cred.encrypted_secret, 'base64url'));
  const q = await tpm.quote({ bank: sel.bank, pcrs: [...sel.pcrs] }, quoteQualifyingData(Buffer.from(challenge.cell_nonce, 'base64url'), machineKey, secret));
  return {
    attest: b64u(marshalTpm2b(q.attest)),
    signature: b64u(q.signature),
    signature_alg: signatureAlg(q.signature),
    pcr_selection: { bank: sel.bank, pcrs: [...q.pcrSelection.pcrs] },
    pcr_values: q.pcrValues.map((v) => Buffer.from(v).toString('hex')),
    ak_public: hello.tpm.ak_public,
    ek_public: hello.tpm.ek_public,
  };
}
