#!/usr/bin/env node
/**
 * holon-orchestrator composition root: `holon-orchestrator --config <file>
 * [--check-config] [--rebuild]`. The only orchestrator/ file that imports
 * adapters: NATS (bus, ledger writer and replay, credentials) and SQLite.
 *
 * Start: config → cell material → bus → streams → projection (rebuilt from
 * the ledger when the database is new, or with --rebuild) → outbox flush and
 * due enrollments → serve. SIGTERM/SIGINT: stop serving, drain in-flight
 * requests, close the bus and the database, exit 0. Exit 78 on any
 * configuration problem (docs/deploy.md).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { connectBus, type BusConnection } from '../adapters/nats/connect.js';
import { mintUserJwt } from '../adapters/nats/credentials.js';
import { holonGrant } from '../bus-schemas/grants.js';
import { declareStreams } from '../adapters/nats/declare.js';
import { openLedgerReplay } from '../adapters/nats/ledger-replay.js';
import { LedgerWriter, type PreparedAppend } from '../adapters/nats/ledger-writer.js';
import { serve, type Service } from '../adapters/nats/request-reply.js';
import { SqliteMachineStore } from '../adapters/sqlite/machine-store.js';
import { systemClock } from '../bus-schemas/clock.js';
import type { CasDigest } from '../bus-schemas/digest.js';
import { holonetStreams } from '../bus-schemas/streams.js';
import { API_SUBJECTS, bootstrapInboxPrefix, inboxPrefix, type LedgerOwner } from '../bus-schemas/subjects.js';
import { BootstrapAttestV1 } from '../bus-schemas/v1/bootstrap-attest.js';
import { BootstrapChallengeV1 } from '../bus-schemas/v1/bootstrap-challenge.js';
import { BootstrapHelloV1 } from '../bus-schemas/v1/bootstrap-hello.js';
import { BootstrapStatusRequestV1 } from '../bus-schemas/v1/bootstrap-status-request.js';
import { BootstrapStatusV1 } from '../bus-schemas/v1/bootstrap-status.js';
import { LedgerEntryV1 } from '../bus-schemas/v1/ledger-entry.js';
import { MachineApprovalV1 } from '../bus-schemas/v1/machine-approval.js';
import { timeAt } from '../bus-schemas/v1/time-envelope.js';
import { BootstrapService, type MachineLedger } from './bootstrap-service.js';
import { loadCellMaterial, type CellMaterial } from './cell-material.js';
import { ConfigError, EXIT_CONFIG, loadOrchestratorConfig, type OrchestratorConfig } from './config.js';
import type { CredentialMinter } from './enrollment.js';
import { rebuildFromLedger } from './ledger-rebuild.js';
import { MachineListRequestV1, MachineListV1 } from '../bus-schemas/v1/machine-list.js';
import type { MachineRecord } from './machine-registry.js';
import type { MachineStore } from './machine-store.js';
import { dirname, join } from 'node:path';
import { AckPolicy, DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { SqliteProvisionStore } from '../adapters/sqlite/provision-store.js';
import type { PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { AGENT_COMMAND_TOKEN, agentConsumerName, cmdSubject, holonSubject, HOLON_ROOT, JOB_COMMAND_TOKEN, UNIT_REPORT_TOKEN } from '../bus-schemas/subjects.js';
import { JobCommandV1, JobRequestV1, JobResultV1 } from '../bus-schemas/v1/job.js';
import { requestSigned } from '../adapters/nats/request-reply.js';
import { convertId } from '../bus-schemas/ids.js';
import { ProvisioningRequestV1 } from '../bus-schemas/v1/provisioning-request.js';
import { TeardownRequestV1 } from '../bus-schemas/v1/teardown-request.js';
import { HolonListRequestV1, HolonListV1, ProvisionStatusRequestV1, ProvisionStatusV1, UnitReportReplyV1, UnitReportV1 } from '../bus-schemas/v1/unit-flow.js';
import { ProvisioningService, type CommandQueue, type ProvisionLedger } from './provisioning/provisioning-service.js';
import type { ProvisionRecord, ProvisionStore } from './provisioning/provision-store.js';

const USAGE = 'usage: holon-orchestrator --config <file> [--check-config] [--rebuild]';

/** The ledger port over LedgerWriter's prepare/commit; the outbox text is the prepared entry, re-committable after a crash. */
function machineLedger(writer: LedgerWriter): MachineLedger {
  return {
    async prepare(owner, kind, body, at) {
      const p = await writer.prepare(owner, kind, body, { at: timeAt(at) });
      const text = JSON.stringify({
        owner: p.owner,
        kind: p.sealed.entry.kind,
        subject: p.subject,
        bytes: Buffer.from(p.sealed.bytes).toString('base64url'),
        digest: p.sealed.digest,
        expect: p.expectLastSubjectSeq,
        ...(p.expectLastSeq !== undefined ? { expectLast: p.expectLastSeq } : {}),
      });
      return { id: p.sealed.digest, text };
    },
    async commit(entry) {
      const j = JSON.parse(entry.text) as { owner: LedgerOwner; subject: string; bytes: string; digest: CasDigest; expect: number; expectLast?: number };
      const bytes = new Uint8Array(Buffer.from(j.bytes, 'base64url'));
      const prepared: PreparedAppend = {
        owner: j.owner,
        subject: j.subject,
        sealed: { entry: LedgerEntryV1.decode(bytes), bytes, digest: j.digest },
        expectLastSubjectSeq: j.expect,
        ...(j.expectLast !== undefined ? { expectLastSeq: j.expectLast } : {}),
      };
      // A prepared entry whose place was taken meanwhile is sealed again on the current head (never lost, never doubled).
      await writer.commitOrReseal(prepared);
    },
  };
}

/** The provisioning ledger port: the same prepare/commit, with the prepared entry carried as outbox text. */
function provisionLedger(ledger: MachineLedger): ProvisionLedger {
  return {
    prepare: (owner, kind, body, at) => ledger.prepare(owner, kind, body, at),
    commit: (text) => ledger.commit({ id: '', text }),
  };
}

/** Each agent's CMD work queue, delivered by a durable push consumer to holon.<host>.cmd (its own subject space). */
function commandQueue(admin: BusConnection, writer: BusConnection, log: Logger): CommandQueue {
  const ensured = new Set<string>();
  return {
    async ensure(machineId) {
      if (ensured.has(machineId)) return;
      const name = agentConsumerName(machineId);
      await admin.jsm.consumers.add('CMD', {
        durable_name: name,
        filter_subject: cmdSubject(machineId),
        deliver_subject: holonSubject(convertId(machineId, 'holon'), AGENT_COMMAND_TOKEN),
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: 30_000_000_000,
        max_ack_pending: 256,
      });
      ensured.add(machineId);
      log.debug({ machine_id: machineId, consumer: name }, 'agent command queue ready');
    },
    async publish(machineId, msgId, bytes) {
      await writer.js.publish(cmdSubject(machineId), bytes, { msgID: msgId });
    },
  };
}

/**
 * Holon certificate serials in blocks of 256: one synchronous (fsynced)
 * transaction per block instead of one per holon, which blocked the event
 * loop for every receipt. A restart abandons the rest of a block: a gap in
 * the serials, never a repeat.
 */
function serialBlocks(store: MachineStore): () => number {
  let next = 0;
  let end = 0;
  return () => {
    if (next >= end) {
      next = store.allocateSerials(256);
      end = next + 256;
    }
    return next++;
  };
}

function enrolledMachines(store: MachineStore): MachineRecord[] {
  const out: MachineRecord[] = [];
  for (let after: string | undefined; ; ) {
    const page = store.listMachines({ limit: 500, ...(after !== undefined ? { after } : {}) });
    for (const m of page) if (m.state === 'ENROLLED') out.push(m);
    if (page.length < 500) return out;
    after = (page[page.length - 1] as MachineRecord).machineId;
  }
}

/** User JWTs for agents' own nkeys, signed with the cell account's signing key (adapters/nats/credentials). */
function credentialMinter(cell: CellMaterial): CredentialMinter {
  const seeds = { account: cell.accountSeed, accountSigning: cell.accountSigningSeed };
  return {
    mintHostUser: ({ userKey, grant, expiresAt }) => mintUserJwt(seeds, { ...grant, expiresAt }, userKey),
  };
}

/**
 * Fault injection for the crash tests only: with HOLONET_TEST_CRASH_AFTER=<LEDGER KIND>
 * the process SIGKILLs itself right after the store committed the step that
 * carries that entry — persisted, not yet published, not answered.
 */
function withCrashPoint(store: MachineStore, kind: string | undefined, log: Logger): MachineStore {
  if (kind === undefined || kind === '') return store;
  log.warn({ kind }, 'HOLONET_TEST_CRASH_AFTER is set: this process will kill itself (test fault injection)');
  const commit = store.commit.bind(store);
  store.commit = (step) => {
    commit(step);
    if (step.outbox !== undefined && step.outbox.text.includes(`"kind":"${kind}"`)) process.kill(process.pid, 'SIGKILL');
  };
  return store;
}

function fail(message: string, code: number): never {
  process.stderr.write(`holon-orchestrator: ${message}\n`);
  process.exit(code);
}

/** Both projections, machines and provisions (with the commands still owed to agents), from one ledger replay. */
async function rebuild(conn: BusConnection, store: MachineStore, provisions: ProvisionStore, cell: CellMaterial, log: Logger): Promise<void> {
  const replay = await openLedgerReplay(conn, {});
  const report = await rebuildFromLedger(store, replay.records, { cellKey: cell.cellKey, provisions: { store: provisions, cell, now: Date.now() } });
  log.info({ ...report }, 'projection rebuilt from the ledger');
}

async function run(cfg: OrchestratorConfig, cell: CellMaterial, opts: { rebuild: boolean }): Promise<void> {
  const log = pino({ name: 'holon-orchestrator', level: cfg.logLevel, redact: ['seed', '*.seed', 'secret', '*.secret', 'jwt', '*.jwt'] });
  if (!cell.principalPinned) log.warn({ principal: cell.principalKey }, 'principal_key not set in the config: using the one named by the cell certificate');
  // Three identities, least privilege each (bus-schemas/grants, docs/security.md): `conn` serves requests and
  // answers only into inboxes; `writer` appends to the ledger and the agents' CMD queues; `admin` alone calls
  // the JetStream API. Without separate creds (a development server) they share the serving ones.
  const cellInbox = inboxPrefix(cell.cellKey);
  const open = (name: string, credsFile: string | undefined, jetstream: boolean): Promise<BusConnection> =>
    connectBus({
      servers: cfg.nats.servers,
      name: `${name} ${cell.cellId}`,
      logger: log.child({ component: 'bus(nats)', connection: name }),
      inboxPrefix: cellInbox,
      jetstream,
      ...(credsFile !== undefined ? { credsFile } : {}),
    });
  const admin = await open('holon-orchestrator-admin', cfg.nats.adminCreds ?? cfg.nats.creds, true);
  const writerConn = await open('holon-orchestrator-writer', cfg.nats.writerCreds ?? cfg.nats.creds, false);
  const conn = await open('holon-orchestrator', cfg.nats.creds, false);
  // The writer publishes; its head reads and stream info go through the admin identity.
  const ledgerConn: BusConnection = { nc: writerConn.nc, server: writerConn.server, logger: writerConn.logger, close: () => writerConn.close(), js: jetstream(writerConn.nc, { timeout: 5000 }), jsm: admin.jsm };
  await declareStreams(admin, holonetStreams());
  // The ledger is the source of truth: a missing projection file (either one) is rebuilt from it.
  const provisionsPath = join(dirname(cfg.database), 'provisions.db');
  const fresh = !existsSync(cfg.database) || !existsSync(provisionsPath);
  const store = withCrashPoint(new SqliteMachineStore<MachineRecord>(cfg.database), process.env.HOLONET_TEST_CRASH_AFTER, log);
  const provisions: ProvisionStore = new SqliteProvisionStore<ProvisionRecord>(provisionsPath);
  if (fresh || opts.rebuild) await rebuild(admin, store, provisions, cell, log);
  const writer = new LedgerWriter(ledgerConn, { signer: cell.signer, clock: systemClock, trustedWriters: [cell.cellKey] });
  const service = new BootstrapService({
    store,
    ledger: machineLedger(writer),
    minter: credentialMinter(cell),
    cell,
    config: cfg,
    clock: systemClock,
    logger: log.child({ component: 'bootstrap' }),
  });
  await service.start();

  const crashKind = process.env.HOLONET_TEST_CRASH_AFTER;
  if (crashKind !== undefined && crashKind !== '') {
    // Same fault injection as withCrashPoint, for provisioning steps: killed once the step is persisted, before its outbox is published.
    const commit = provisions.commit.bind(provisions);
    provisions.commit = (step) => {
      commit(step);
      if ((step.outbox ?? []).some((o) => o.kind === 'ledger' && o.text.includes(`"kind":"${crashKind}"`))) process.kill(process.pid, 'SIGKILL');
    };
  }
  const seeds = { account: cell.accountSeed, accountSigning: cell.accountSigningSeed };
  const provisioning = new ProvisioningService({
    store: provisions,
    machines: { get: (id: PublicKeyIdV1) => store.getMachine(id), enrolled: () => enrolledMachines(store) },
    ledger: provisionLedger(machineLedger(writer)),
    queue: commandQueue(admin, ledgerConn, log),
    jobs: {
      run: (machineId, command, timeoutMs) =>
        requestSigned(conn, {
          subject: holonSubject(convertId(machineId, 'holon'), JOB_COMMAND_TOKEN),
          requestType: JobCommandV1,
          request: command,
          replyType: JobResultV1,
          responder: machineId,
          timeoutMs,
        }),
    },
    mintHolonUser: (holonId, natsUserKey, expiresAt) => mintUserJwt(seeds, holonGrant(holonId, { expiresAt }), natsUserKey),
    allocateSerial: serialBlocks(store),
    overcommit: cfg.placementOvercommit,
    cell,
    clock: systemClock,
    logger: log.child({ component: 'provisioning' }),
  });
  await provisioning.start();

  const common = { signer: cell.signer, clock: systemClock, logger: log };
  // An un-enrolled machine asks from its bootstrap session's inbox; an enrolled one (status) from its own.
  const bootstrapReplies = (k: PublicKeyIdV1): string[] => [bootstrapInboxPrefix(k), inboxPrefix(k)];
  const services: Service[] = [
    await serve(conn, { ...common, subject: API_SUBJECTS.bootstrapHello, replyPrefixes: bootstrapReplies, requestType: BootstrapHelloV1, replyType: BootstrapChallengeV1, handler: (q) => service.hello(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.bootstrapAttest, replyPrefixes: bootstrapReplies, requestType: BootstrapAttestV1, replyType: BootstrapStatusV1, handler: (q) => service.attest(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.bootstrapStatus, replyPrefixes: bootstrapReplies, requestType: BootstrapStatusRequestV1, replyType: BootstrapStatusV1, handler: (q) => service.status(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.approve, requestType: MachineApprovalV1, replyType: MachineListV1, handler: (q) => service.approve(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.machines, requestType: MachineListRequestV1, replyType: MachineListV1, handler: (q) => service.list(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.provision, requestType: ProvisioningRequestV1, replyType: ProvisionStatusV1, handler: (q) => provisioning.provision(q), maxInFlight: 1024 }),
    await serve(conn, { ...common, subject: API_SUBJECTS.provisionStatus, requestType: ProvisionStatusRequestV1, replyType: ProvisionStatusV1, handler: (q) => provisioning.status(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.holons, requestType: HolonListRequestV1, replyType: HolonListV1, handler: (q) => provisioning.list(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.jobRun, requestType: JobRequestV1, replyType: JobResultV1, handler: (q) => provisioning.runJob(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.teardown, requestType: TeardownRequestV1, replyType: ProvisionStatusV1, handler: (q) => provisioning.teardown(q) }),
    await serve(conn, {
      ...common,
      subject: `${HOLON_ROOT}.*.${UNIT_REPORT_TOKEN}`,
      requestType: UnitReportV1,
      replyType: UnitReportReplyV1,
      handler: (q, ctx) => provisioning.unitReport(q, ctx.subject, ctx.requester),
      maxInFlight: 1024,
    }),
  ];
  const sweeper = setInterval(() => {
    try {
      service.sweep();
    } catch (e) {
      log.error({ err: e }, 'session sweep failed');
    }
  }, 10_000);
  sweeper.unref();
  log.info({ cell: cell.cellId, principal: cell.principalKey, database: cfg.database, machines: store.countMachines() }, 'holon-orchestrator ready');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: no new requests, draining in-flight ones');
    clearInterval(sweeper);
    await Promise.all(services.map((s) => s.stop({ graceMs: 10_000 })));
    for (const c of [conn, writerConn, admin]) await c.close().catch((e: unknown) => log.warn({ err: e }, 'bus close failed'));
    store.close();
    provisions.close();
    log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

async function main(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: { config: { type: 'string' }, 'check-config': { type: 'boolean' }, rebuild: { type: 'boolean' } } }));
  } catch (e) {
    fail(`${(e as Error).message}\n${USAGE}`, 2);
  }
  if (values.config === undefined) fail(`--config <file> is required\n${USAGE}`, 2);
  let cfg: OrchestratorConfig;
  let cell: CellMaterial;
  try {
    cfg = loadOrchestratorConfig(values.config);
    cell = loadCellMaterial(cfg, Date.now());
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, EXIT_CONFIG);
    throw e;
  }
  if (values['check-config'] === true) {
    process.stderr.write(`holon-orchestrator: config ${cfg.file}: ok (cell ${cell.cellId})\n`);
    process.exit(0);
  }
  await run(cfg, cell, { rebuild: values.rebuild === true });
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`holon-orchestrator: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
