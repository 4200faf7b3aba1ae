/**
 * A FAKE cell for the agent tests, built from the real cell half of the
 * protocol (bus-schemas/bootstrap/cell-side.ts) over a REAL nats-server in
 * operator mode: the agent connects with the bootstrap user's .creds
 * (publish api.bootstrap.> only, replies on _INBOX_bootstrap.>), and after
 * enrollment with a user JWT this cell signs for the agent's own nkey
 * (holon.<id>.> and evt.<id>.>, inbox _INBOX_<id>). It records every
 * subject anyone publishes, so a test can assert what the agent sent.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, credsAuthenticator, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { encodeUser } from '@nats-io/jwt';
import { fromSeed } from '@nats-io/nkeys';
import { bootstrapGrant, holonGrant, type UserGrant } from '../../bus-schemas/grants.js';
import { inboxPrefix } from '../../bus-schemas/subjects.js';
import {
  createNkeySeed,
  encodeCellAccountJwt,
  encodeOperatorJwt,
  encodeSystemAccountJwt,
  mintUser,
  nkeyPublic,
  renderServerAuthConfig,
} from '../../adapters/nats/credentials.js';
import { checkAttest, checkHello, makeChallenge, type BootstrapSession, type CellBootstrapPolicy, type HelloFacts } from '../../bus-schemas/bootstrap/cell-side.js';
import type { CasDigest } from '../../bus-schemas/digest.js';
import { digestOf } from '../../bus-schemas/digest.js';
import { convertId, encodeId, type CellIdV1, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import type { Signer } from '../../bus-schemas/keys.js';
import { ADMISSION_EPOCH_MS } from '../../agent/bootstrap-client.js';
import { BootstrapAttestV1 } from '../../bus-schemas/v1/bootstrap-attest.js';
import { BootstrapChallengeV1 } from '../../bus-schemas/v1/bootstrap-challenge.js';
import { BootstrapHelloV1 } from '../../bus-schemas/v1/bootstrap-hello.js';
import { BootstrapStatusRequestV1 } from '../../bus-schemas/v1/bootstrap-status-request.js';
import { BootstrapStatusV1 } from '../../bus-schemas/v1/bootstrap-status.js';
import type { CellCertificateV1 } from '../../bus-schemas/v1/cell-certificate.js';
import { HolonCertificateV1 } from '../../bus-schemas/v1/holon-certificate.js';
import { RefusalV1, sealRefusal } from '../../bus-schemas/v1/refusal.js';
import { NatsServer } from '../harness/nats-server.js';
import { basePolicy, keyOf, makeAuthority, newSigner, type Authority } from '../bootstrap/fixtures.js';

export const DIFFICULTY = 4;

/** A nats-server in operator mode with a cell account, plus the .creds the tests hand out. */
export interface OperatorBus {
  server: NatsServer;
  seeds: { account: string; accountSigning: string };
  accountPublic: string;
  bootstrapCredsFile: string;
  cellCreds: string;
  stop(): Promise<void>;
}

export async function startOperatorBus(dir: string): Promise<OperatorBus> {
  const seeds = { operator: createNkeySeed('operator'), system: createNkeySeed('account'), account: createNkeySeed('account'), accountSigning: createNkeySeed('account') };
  const accountPublic = nkeyPublic(seeds.account, 'account');
  const config = renderServerAuthConfig({
    operatorJwt: await encodeOperatorJwt(seeds, 'holonet-test'),
    systemAccount: nkeyPublic(seeds.system, 'account'),
    accounts: [
      { name: 'SYS', public: nkeyPublic(seeds.system, 'account'), jwt: await encodeSystemAccountJwt(seeds) },
      { name: 'cell', public: accountPublic, jwt: await encodeCellAccountJwt(seeds, 'cell') },
    ],
  });
  const server = await NatsServer.start({ jetstream: false, config });
  const bootstrapCredsFile = join(dir, 'bootstrap.creds');
  writeFileSync(bootstrapCredsFile, (await mintUser(seeds, bootstrapGrant())).creds, { mode: 0o600 });
  const cellCreds = (await mintUser(seeds, allowAll('cell'))).creds;
  return { server, seeds, accountPublic, bootstrapCredsFile, cellCreds, stop: () => server.stop() };
}

/** A test-only user allowed everything (the fake cell, test probes). */
export function allowAll(name: string): UserGrant {
  return { kind: 'admin', name, publish: ['>'], subscribe: ['>'], inboxPrefix: '_INBOX' };
}

export type CellMode = 'honest' | 'foreign' | 'forged';

export interface FakeCellOptions {
  bus: OperatorBus;
  /** the principal the agent pins */
  principal: Signer;
  policy: Partial<CellBootstrapPolicy>;
  mode?: CellMode;
  /** machines approved before they attest (pre-approval) */
  preapproved?: PublicKeyIdV1[];
  /** hold the reply to a hello this long (to kill the agent mid-bootstrap) */
  helloDelayMs?: number;
}

interface Enrolled {
  certificate: HolonCertificateV1;
  jwt: string;
  softwareOnly: boolean;
}

export class FakeCell {
  readonly auth: Authority;
  /** Every subject published by anyone but the cell's replies, in order. */
  readonly seen: string[] = [];
  readonly heartbeats: Uint8Array[] = [];
  readonly issued: Enrolled[] = [];
  hellos = 0;
  /** hold the reply to a hello this long; may be changed while running */
  helloDelayMs: number;
  readonly #o: FakeCellOptions;
  readonly #policy: CellBootstrapPolicy;
  readonly #presented: CellCertificateV1;
  readonly #sessions = new Map<PublicKeyIdV1, { session: BootstrapSession; facts: HelloFacts; natsKey: string }>();
  readonly #attested = new Map<PublicKeyIdV1, { softwareOnly: boolean; natsKey: string }>();
  readonly #enrolled = new Map<PublicKeyIdV1, Enrolled>();
  readonly #approved: Set<PublicKeyIdV1>;
  readonly #quotes = new Set<CasDigest>();
  #nc: NatsConnection | undefined;

  constructor(o: FakeCellOptions) {
    this.#o = o;
    const now = Date.now();
    const honest = makeAuthority(now, o.principal);
    const foreign = makeAuthority(now);
    this.#policy = basePolicy(o.policy);
    this.#approved = new Set(o.preapproved ?? []);
    this.helloDelayMs = o.helloDelayMs ?? 0;
    const mode = o.mode ?? 'honest';
    if (mode === 'foreign') {
      this.auth = foreign;
      this.#presented = foreign.certificate;
    } else if (mode === 'forged') {
      // Our principal's key named, sealed by another principal; the cell signs with the key it names.
      this.auth = honest;
      this.#presented = { ...honest.certificate, principal_seal: { ...foreign.certificate.principal_seal, key: honest.certificate.principal_key } };
    } else {
      this.auth = honest;
      this.#presented = honest.certificate;
    }
  }

  get cellId(): CellIdV1 {
    return this.auth.certificate.cell_id;
  }

  approve(machine: PublicKeyIdV1): void {
    this.#approved.add(machine);
  }

  async start(): Promise<void> {
    const nc = await connect({ servers: this.#o.bus.server.url, authenticator: credsAuthenticator(new TextEncoder().encode(this.#o.bus.cellCreds)) });
    this.#nc = nc;
    nc.subscribe('>', {
      callback: (_e, m) => {
        if (m.subject.startsWith('_INBOX')) return;
        this.seen.push(m.subject);
        if (m.subject.endsWith('.heartbeat')) this.heartbeats.push(m.data);
      },
    });
    this.#serve('api.bootstrap.hello', (m) => this.#hello(m));
    this.#serve('api.bootstrap.attest', (m) => this.#attest(m));
    this.#serve('api.bootstrap.status', (m) => this.#status(m));
    await nc.flush();
  }

  async stop(): Promise<void> {
    if (this.#nc !== undefined && !this.#nc.isClosed()) await this.#nc.drain();
  }

  #serve(subject: string, handle: (m: Msg) => Promise<Uint8Array> | Uint8Array): void {
    this.#nc?.subscribe(subject, {
      callback: (_e, m) => {
        void (async () => {
          try {
            m.respond(await handle(m));
          } catch (e) {
            m.respond(RefusalV1.encode(sealRefusal(e, { signer: this.auth.cell, at: { unix_ms: Date.now(), source: 'SYSTEM' } })));
          }
        })();
      },
    });
  }

  #admission(now: number): { epoch: number; difficulty: number } {
    return { epoch: Math.floor(now / ADMISSION_EPOCH_MS), difficulty: DIFFICULTY };
  }

  async #hello(m: Msg): Promise<Uint8Array> {
    this.hellos += 1;
    const hello = BootstrapHelloV1.decode(m.data);
    const now = Date.now();
    const facts = checkHello(hello, this.#policy, { now, admission: this.#admission(now) });
    const { challenge, session } = makeChallenge(hello, facts, { signer: this.auth.cell, certificate: this.#presented }, this.#policy, { now });
    this.#sessions.set(hello.machine_id, { session, facts, natsKey: hello.nats_user_key });
    if (this.helloDelayMs > 0) await new Promise((r) => setTimeout(r, this.helloDelayMs));
    return BootstrapChallengeV1.encode(challenge);
  }

  async #attest(m: Msg): Promise<Uint8Array> {
    const attest = BootstrapAttestV1.decode(m.data);
    const open = this.#sessions.get(attest.machine_id);
    if (open === undefined) throw new Error('no open challenge');
    const out = checkAttest(attest, open.session, open.facts, this.#policy, { now: Date.now(), seenQuote: (d) => this.#quotes.has(d) });
    if (out.quoteDigest !== undefined) this.#quotes.add(out.quoteDigest);
    this.#sessions.delete(attest.machine_id);
    if (!this.#attested.has(attest.machine_id)) this.#attested.set(attest.machine_id, { softwareOnly: out.softwareOnly, natsKey: open.natsKey });
    return this.#statusOf(attest.machine_id);
  }

  async #status(m: Msg): Promise<Uint8Array> {
    const req = BootstrapStatusRequestV1.decode(m.data);
    BootstrapStatusRequestV1.verify(req, req.machine_id);
    return this.#statusOf(req.machine_id);
  }

  async #statusOf(machine: PublicKeyIdV1): Promise<Uint8Array> {
    const at = { unix_ms: Date.now(), source: 'SYSTEM' as const };
    const base = { machine_id: machine, cell_id: this.cellId, at };
    const attested = this.#attested.get(machine);
    if (attested === undefined) return BootstrapStatusV1.encode(BootstrapStatusV1.seal({ ...base, state: 'CHALLENGED', software_only: false }, this.auth.cell));
    let enrolled = this.#enrolled.get(machine);
    if (enrolled === undefined && this.#approved.has(machine)) {
      enrolled = await this.#enroll(machine, attested.natsKey, attested.softwareOnly);
      this.#enrolled.set(machine, enrolled);
      this.issued.push(enrolled);
    }
    if (enrolled === undefined) return BootstrapStatusV1.encode(BootstrapStatusV1.seal({ ...base, state: 'ATTESTED', software_only: attested.softwareOnly }, this.auth.cell));
    return BootstrapStatusV1.encode(
      BootstrapStatusV1.seal({ ...base, state: 'ENROLLED', software_only: enrolled.softwareOnly, holon_certificate: enrolled.certificate, nats_user_jwt: enrolled.jwt }, this.auth.cell),
    );
  }

  async #enroll(machine: PublicKeyIdV1, natsKey: string, softwareOnly: boolean): Promise<Enrolled> {
    const now = Date.now();
    const holonId = convertId(machine, "holon");
    const certificate = HolonCertificateV1.seal(
      {
        holon_id: holonId,
        role: 'HOST',
        cell_id: this.auth.certificate.cell_id,
        parent_holon: null,
        capability_manifest_digest: digestOf('test.manifest', { holonId }),
        delegation_digest: digestOf('test.delegation', { holonId }),
        not_before: now - 1000,
        not_after: now + 86_400_000,
        serial: this.issued.length + 1,
      },
      this.auth.cell,
    );
    const grant = holonGrant(holonId, { publish: [`evt.${holonId}.>`] });
    const jwt = await encodeUser(holonId, natsKey, this.#o.bus.accountPublic, { pub: { allow: [...grant.publish] }, sub: { allow: [...grant.subscribe] } }, {
      signer: fromSeed(new TextEncoder().encode(this.#o.bus.seeds.accountSigning)),
    });
    return { certificate, jwt, softwareOnly };
  }
}

export { inboxPrefix, keyOf, newSigner, randomBytes, encodeId };
