/**
 * A test-side agent built only from the protocol halves
 * (bus-schemas/bootstrap/agent-side.ts) and TpmAttestor — the real
 * holon-agent is built elsewhere and is not used here. It speaks to the
 * orchestrator over the real bus with signed request/reply.
 */
import { bootstrapInboxPrefix } from '../../bus-schemas/subjects.js';
import { randomBytes } from 'node:crypto';
import { createUser } from '@nats-io/nkeys';
import type { BusConnection } from '../../adapters/nats/connect.js';
import { requestSigned } from '../../adapters/nats/request-reply.js';
import type { TpmAttestor, TpmIdentity } from '../../adapters/tpm/index.js';
import { makeAttest, makeHello, verifyChallenge } from '../../bus-schemas/bootstrap/agent-side.js';
import { encodeId, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import type { Signer } from '../../bus-schemas/keys.js';
import { API_SUBJECTS } from '../../bus-schemas/subjects.js';
import { marshalTpm2b, quoteQualifyingData } from '../../bus-schemas/tpm/index.js';
import { BootstrapAttestV1 } from '../../bus-schemas/v1/bootstrap-attest.js';
import { BootstrapChallengeV1 } from '../../bus-schemas/v1/bootstrap-challenge.js';
import { BootstrapHelloV1 } from '../../bus-schemas/v1/bootstrap-hello.js';
import { BootstrapStatusRequestV1 } from '../../bus-schemas/v1/bootstrap-status-request.js';
import { BootstrapStatusV1 } from '../../bus-schemas/v1/bootstrap-status.js';
import type { TpmQuoteV1 } from '../../bus-schemas/v1/tpm-quote.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { helloBody, newSigner } from '../bootstrap/fixtures.js';

export const EPOCH_MS = 3_600_000;

export interface AgentTpm {
  attestor: TpmAttestor;
  identity: TpmIdentity;
}

export class TestAgent {
  readonly machine: Signer;
  readonly machineId: PublicKeyIdV1;
  readonly natsUserKey: string;
  readonly #conn: BusConnection;
  readonly #tpm: AgentTpm | undefined;
  readonly #pinned: PublicKeyIdV1[];

  /** Replies come back to this machine's own bootstrap session inbox (the cell answers nowhere else). */
  #inbox(): string {
    return bootstrapInboxPrefix(this.machineId);
  }

  constructor(conn: BusConnection, opts: { tpm?: AgentTpm; pinned: PublicKeyIdV1[]; machine?: Signer; natsUserKey?: string }) {
    this.#conn = conn;
    this.#tpm = opts.tpm;
    this.#pinned = opts.pinned;
    this.machine = opts.machine ?? newSigner();
    this.machineId = encodeId('key', this.machine.publicKey);
    this.natsUserKey = opts.natsUserKey ?? createUser().getPublicKey();
  }

  makeHello(opts: { difficulty?: number; akPublic?: Uint8Array; withTpm?: boolean } = {}): BootstrapHelloV1 {
    const now = Date.now();
    const tpm = opts.withTpm === false ? undefined : this.#tpm;
    const body = helloBody(tpm ? { ...tpm.identity, ...(opts.akPublic ? { akPublic: opts.akPublic } : {}) } : undefined);
    return makeHello(this.machine, { ...body, nats_user_key: this.natsUserKey }, { now, admission: { epoch: Math.floor(now / EPOCH_MS), difficulty: opts.difficulty ?? 4 } });
  }

  async hello(hello: BootstrapHelloV1 = this.makeHello()): Promise<{ hello: BootstrapHelloV1; challenge: BootstrapChallengeV1 }> {
    const challenge = await requestSigned(this.#conn, { subject: API_SUBJECTS.bootstrapHello, requestType: BootstrapHelloV1, request: hello, replyType: BootstrapChallengeV1, replyPrefix: this.#inbox() });
    verifyChallenge(challenge, { pinnedRoots: this.#pinned, hello, now: Date.now() });
    return { hello, challenge };
  }

  /** The TPM answer: activate the credential, quote over H(Nb ‖ machine key ‖ secret). */
  async quote(challenge: BootstrapChallengeV1, opts: { secret?: Uint8Array; pcrs?: number[] } = {}): Promise<TpmQuoteV1 | undefined> {
    const tpm = this.#tpm;
    const cred = challenge.credential;
    if (tpm === undefined || cred === undefined) return undefined;
    const secret = opts.secret ?? (await tpm.attestor.activateCredential(Buffer.from(cred.id_object, 'base64url'), Buffer.from(cred.encrypted_secret, 'base64url')));
    const sel = opts.pcrs ? { bank: 'sha256' as const, pcrs: opts.pcrs } : (challenge.pcr_selection ?? { bank: 'sha256' as const, pcrs: [0] });
    const q = await tpm.attestor.quote(sel, quoteQualifyingData(Buffer.from(challenge.cell_nonce, 'base64url'), this.machine.publicKey, secret));
    return {
      attest: Buffer.from(marshalTpm2b(q.attest)).toString('base64url'),
      signature: Buffer.from(q.signature).toString('base64url'),
      signature_alg: 'ecdsa-p256-sha256',
      pcr_selection: { bank: q.pcrSelection.bank as 'sha256', pcrs: [...q.pcrSelection.pcrs] },
      pcr_values: q.pcrValues.map((v) => Buffer.from(v).toString('hex')),
      ak_public: Buffer.from(tpm.identity.akPublic).toString('base64url'),
      ek_public: Buffer.from(tpm.identity.ekPublic).toString('base64url'),
    };
  }

  makeAttest(challenge: BootstrapChallengeV1, quote: TpmQuoteV1 | undefined, now = Date.now()): BootstrapAttestV1 {
    return makeAttest(this.machine, challenge, { ...(quote ? { quote } : {}), now });
  }

  attest(attest: BootstrapAttestV1, timeoutMs = 5000): Promise<BootstrapStatusV1> {
    return requestSigned(this.#conn, { subject: API_SUBJECTS.bootstrapAttest, requestType: BootstrapAttestV1, request: attest, replyType: BootstrapStatusV1, timeoutMs, replyPrefix: this.#inbox() });
  }

  /** hello → challenge → quote → attest. */
  async bootstrap(opts: { secret?: Uint8Array; pcrs?: number[] } = {}): Promise<{ challenge: BootstrapChallengeV1; attest: BootstrapAttestV1; status: BootstrapStatusV1 }> {
    const { challenge } = await this.hello();
    const attest = this.makeAttest(challenge, await this.quote(challenge, opts));
    return { challenge, attest, status: await this.attest(attest) };
  }

  status(): Promise<BootstrapStatusV1> {
    const request = BootstrapStatusRequestV1.seal({ machine_id: this.machineId, request_nonce: randomBytes(32).toString('base64url'), sent_at: timeAt(Date.now()) }, this.machine);
    return requestSigned(this.#conn, { subject: API_SUBJECTS.bootstrapStatus, requestType: BootstrapStatusRequestV1, request, replyType: BootstrapStatusV1, replyPrefix: this.#inbox() });
  }
}
