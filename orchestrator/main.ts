#!/usr/bin/env node
/**
 * holon-orchestrator composition root: `holon-orchestrator --config <file>
 * [--check-config] [--rebuild]`. The only orchestrator/ file that imports
 * adapters: NATS (bus, ledger writer and replay, credentials) and SQLite.
 *
 * Start: config → cell material → metrics endpoints (docs/metrics.md) → bus
 * → streams → projection (rebuilt from the ledger when the database is new,
 * or with --rebuild) → outbox flush and due enrollments → serve (ready).
 * SIGTERM/SIGINT: not ready, stop serving, drain in-flight requests, close
 * the bus, the database and the endpoints, exit 0. Exit 78 on any
 * configuration problem (docs/deploy.md).
 */
import { packageVersion } from '../adapters/release/package-version.js';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { createDaemonLogger, stderrPrefix } from '../adapters/log/daemon-logger.js';
import { createPromMetrics, monotonicSeconds, reasonsOf, roundTrip, serveMetrics } from '../adapters/metrics/index.js';
import { connectBus, type BusConnection } from '../adapters/nats/connect.js';
import { mintUserJwt } from '../adapters/nats/credentials.js';
import { holonGrant } from '../bus-schemas/grants.js';
import { declareStreams } from '../adapters/nats/declare.js';
import { openLedgerReplay } from '../adapters/nats/ledger-replay.js';
import { AgentCommandQueue } from '../adapters/nats/command-queue.js';
import { ledgerOutbox } from '../adapters/nats/ledger-outbox.js';
import { LedgerWriter } from '../adapters/nats/ledger-writer.js';
import { serve, type Service } from '../adapters/nats/request-reply.js';
import { SqliteMachineStore } from '../adapters/sqlite/machine-store.js';
import { systemClock } from '../bus-schemas/clock.js';
import { holonetStreams } from '../bus-schemas/streams.js';
import { API_SUBJECTS, bootstrapInboxPrefix, inboxPrefix } from '../bus-schemas/subjects.js';
import { BootstrapAttestV1 } from '../bus-schemas/v1/bootstrap-attest.js';
import { BootstrapChallengeV1 } from '../bus-schemas/v1/bootstrap-challenge.js';
import { BootstrapHelloV1 } from '../bus-schemas/v1/bootstrap-hello.js';
import { BootstrapStatusRequestV1 } from '../bus-schemas/v1/bootstrap-status-request.js';
import { BootstrapStatusV1 } from '../bus-schemas/v1/bootstrap-status.js';
import { MachineApprovalV1 } from '../bus-schemas/v1/machine-approval.js';
import { BootstrapService } from './bootstrap-service.js';
import { loadCellMaterial, type CellMaterial } from './cell-material.js';
import { ConfigError, EXIT_CONFIG, loadOrchestratorConfig, type OrchestratorConfig } from './config.js';
import type { CredentialMinter } from './enrollment.js';
import { rebuildFromLedger } from './ledger-rebuild.js';
import { MachineListRequestV1, MachineListV1 } from '../bus-schemas/v1/machine-list.js';
import type { MachineRecord } from './machine-registry.js';
import { enrolledMachines, serialBlocks, type MachineStore } from './machine-store.js';
import { dirname, join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { SqliteProvisionStore } from '../adapters/sqlite/provision-store.js';
import type { PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { BUDGET_NOTICE_TOKEN, EVT_ROOT, holonSubject, HOLON_ROOT, JOB_COMMAND_TOKEN, UNIT_REPORT_TOKEN } from '../bus-schemas/subjects.js';
import { JobCommandV1, JobRequestV1, JobResultV1 } from '../bus-schemas/v1/job.js';
import { requestSigned } from '../adapters/nats/request-reply.js';
import { convertId } from '../bus-schemas/ids.js';
import { ProvisioningRequestV1 } from '../bus-schemas/v1/provisioning-request.js';
import { TeardownRequestV1 } from '../bus-schemas/v1/teardown-request.js';
import { BudgetTopupV1 } from '../bus-schemas/v1/budget-topup.js';
import { HolonListRequestV1, HolonListV1, ProvisionStatusRequestV1, ProvisionStatusV1, UnitReportReplyV1, UnitReportV1 } from '../bus-schemas/v1/unit-flow.js';
import { Liveness } from './metering/liveness.js';
import { MeteringService } from './metering/metering-service.js';
import { pricesFor } from './metering/prices.js';
import type { UsageAccount } from './metering/usage-account.js';
import { ProvisioningService } from './provisioning/provisioning-service.js';
import { publishEvent, subscribeEvents } from '../adapters/nats/event-subscription.js';
import type { ProvisionRecord, ProvisionStore } from './provisioning/provision-store.js';
import { withCrashPoint } from './step-writer.js';
import { measuredLedger, measuredQueue, ProvisionMeter } from './provision-metrics.js';

const USAGE = 'usage: holon-orchestrator --config <file> [--check-config] [--rebuild]\n       holon-orchestrator --help | --version';

const HELP = `holon-orchestrator — the cell: bootstrap verifier, provisioning, ledger (docs/orchestrator.md)

${USAGE}

  --config <file>   the orchestrator's JSON config (docs/orchestrator.md)
  --check-config    validate the config and the cell material, then exit
  --rebuild         rebuild both projections from the ledger before serving
  --help            this text
  --version         the release

Exit status: 0 clean stop or valid config; 78 configuration unusable; 2 bad
command line; 1 other.`;

/** User JWTs for agents' own nkeys, signed with the cell account's signing key (adapters/nats/credentials). */
function credentialMinter(cell: CellMaterial): CredentialMinter {
  const seeds = { account: cell.accountSeed, accountSigning: cell.accountSigningSeed };
  return {
    mintHostUser: ({ userKey, grant, expiresAt }) => mintUserJwt(seeds, { ...grant, expiresAt }, userKey),
  };
}

function fail(message: string, code: number): never {
  process.stderr.write(`${stderrPrefix()}holon-orchestrator: ${message}\n`);
  process.exit(code);
}

/** Both projections, machines and provisions (with the commands still owed to agents), from one ledger replay. */
async function rebuild(conn: BusConnection, store: MachineStore, provisions: ProvisionStore, cell: CellMaterial, log: Logger, why: string): Promise<void> {
  const replay = await openLedgerReplay(conn, {});
  const report = await rebuildFromLedger(store, replay.records, { cellKey: cell.cellKey, provisions: { store: provisions, cell, now: Date.now() } });
  provisions.setMeta(META_LEDGER_SEQ, String(replay.lastSeq));
  log.info({ ...report, why, ledger_seq: replay.lastSeq }, 'projection rebuilt from the ledger');
}

/*
 * Whether the projection is behind the ledger: at a clean stop the orchestrator records the LEDGER position
 * its files reflect. A file that says it stopped cleanly at an earlier position (restored from a backup, or
 * copied from another cell's past) missed entries, and is rebuilt. After a crash (no clean mark) the outbox
 * repairs the last step instead, as before.
 */
const META_LEDGER_SEQ = 'ledger_seq';
const META_CLEAN_STOP = 'clean_stop';

async function ledgerLastSeq(admin: BusConnection): Promise<number> {
  return (await admin.jsm.streams.info('LEDGER')).state.last_seq;
}

function projectionBehind(provisions: ProvisionStore, lastSeq: number): string | undefined {
  const mark = provisions.getMeta(META_LEDGER_SEQ);
  if (provisions.getMeta(META_CLEAN_STOP) !== '1' || mark === undefined) return undefined;
  return Number(mark) < lastSeq ? `the projection reflects the ledger up to seq ${mark}; LEDGER is at ${lastSeq}` : undefined;
}

/** What /readyz waits for: the three bus connections answering, the projections loaded and served. */
class ReadyState {
  serving = false;
  readonly #conns: { name: string; conn: BusConnection }[] = [];
  add(name: string, conn: BusConnection): BusConnection {
    this.#conns.push({ name, conn });
    return conn;
  }
  notReady = (): Promise<string[]> =>
    reasonsOf([
      () => (this.#conns.length < 3 ? 'not connected to NATS yet' : undefined),
      () => (this.serving ? undefined : 'projections not loaded and served yet'),
      ...this.#conns.map(({ name, conn }) => () => roundTrip(`nats (${name})`, () => conn.nc.flush())),
    ]);
}

async function run(cfg: OrchestratorConfig, cell: CellMaterial, opts: { rebuild: boolean }): Promise<void> {
  const { log } = createDaemonLogger({ name: 'holon-orchestrator', level: cfg.logLevel, format: cfg.logFormat, redact: ['seed', '*.seed', 'secret', '*.secret', 'jwt', '*.jwt'] });
  // The Prometheus figures (docs/metrics.md); `metrics` is the MetricsPort handed to the services below.
  const metrics = createPromMetrics({ daemon: 'holon-orchestrator', version: packageVersion(), maxUnits: cfg.metrics.maxUnits });
  const ready = new ReadyState();
  const endpoints = await serveMetrics(cfg.metrics.listen, metrics, ready.notReady, log);
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
  const admin = ready.add('admin', await open('holon-orchestrator-admin', cfg.nats.adminCreds ?? cfg.nats.creds, true));
  const writerConn = ready.add('writer', await open('holon-orchestrator-writer', cfg.nats.writerCreds ?? cfg.nats.creds, false));
  const conn = ready.add('serve', await open('holon-orchestrator', cfg.nats.creds, false));
  // The writer publishes; its head reads and stream info go through the admin identity.
  const ledgerConn: BusConnection = { nc: writerConn.nc, server: writerConn.server, logger: writerConn.logger, close: () => writerConn.close(), js: jetstream(writerConn.nc, { timeout: 5000 }), jsm: admin.jsm };
  await declareStreams(admin, holonetStreams());
  // The ledger is the source of truth: a missing projection file (either one) is rebuilt from it.
  const provisionsPath = join(dirname(cfg.database), 'provisions.db');
  const fresh = !existsSync(cfg.database) || !existsSync(provisionsPath);
  const store: MachineStore = new SqliteMachineStore<MachineRecord>(cfg.database);
  const provisions: ProvisionStore = new SqliteProvisionStore<ProvisionRecord>(provisionsPath);
  const behind = projectionBehind(provisions, await ledgerLastSeq(admin));
  provisions.setMeta(META_CLEAN_STOP, '0');
  if (fresh || opts.rebuild || behind !== undefined) {
    await rebuild(admin, store, provisions, cell, log, fresh ? 'a projection file was missing' : opts.rebuild ? '--rebuild' : (behind as string));
  }
  const writer = new LedgerWriter(ledgerConn, { signer: cell.signer, clock: systemClock, trustedWriters: [cell.cellKey] });
  // One ledger outbox for both services: prepared entries persist with their steps, then publish (step-writer.ts).
  const ledger = withCrashPoint(measuredLedger(ledgerOutbox(writer), metrics, monotonicSeconds), process.env.HOLONET_TEST_CRASH_AFTER, log);
  // Which enrolled machines are alive: heartbeats and metering batches (metering/liveness.ts).
  const liveness = new Liveness({ now: systemClock.now(), unreachableAfterMs: cfg.unreachableAfterMs });
  const service = new BootstrapService({
    store,
    ledger,
    minter: credentialMinter(cell),
    cell,
    config: cfg,
    clock: systemClock,
    logger: log.child({ component: 'bootstrap' }),
    liveness,
  });
  await service.start();

  const seeds = { account: cell.accountSeed, accountSigning: cell.accountSigningSeed };
  const provisioning = new ProvisioningService({
    store: provisions,
    // An unreachable machine gets no placements.
    machines: { get: (id: PublicKeyIdV1) => store.getMachine(id), enrolled: () => enrolledMachines(store).filter((m) => liveness.of(m.machineId, systemClock.now()).reachable) },
    ledger,
    queue: measuredQueue(new AgentCommandQueue(admin, ledgerConn, log), metrics, monotonicSeconds),
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
    exhaustionGraceMs: cfg.exhaustionGraceMs,
    notify: (parent, status) => publishEvent(conn, holonSubject(parent, BUDGET_NOTICE_TOKEN), ProvisionStatusV1.encode(status)),
    // The usage of a unit on a machine not heard from is unknown, not what it was when last heard.
    usageOf: (h): UsageAccount | undefined => {
      const acc = metering.account(h);
      return acc !== undefined && liveness.of(acc.machineId, systemClock.now()).reachable ? acc : undefined;
    },
    cell,
    clock: systemClock,
    logger: log.child({ component: 'provisioning' }),
    metrics,
  });
  await provisioning.start();

  const meter = new ProvisionMeter(metrics, monotonicSeconds);
  const common = { signer: cell.signer, clock: systemClock, logger: log, onRefusal: (code: string) => metrics.refusal(code) };
  // An un-enrolled machine asks from its bootstrap session's inbox; an enrolled one (status) from its own.
  const bootstrapReplies = (k: PublicKeyIdV1): string[] => [bootstrapInboxPrefix(k), inboxPrefix(k)];
  const services: Service[] = [
    await serve(conn, { ...common, subject: API_SUBJECTS.bootstrapHello, replyPrefixes: bootstrapReplies, requestType: BootstrapHelloV1, replyType: BootstrapChallengeV1, handler: (q) => service.hello(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.bootstrapAttest, replyPrefixes: bootstrapReplies, requestType: BootstrapAttestV1, replyType: BootstrapStatusV1, handler: (q) => service.attest(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.bootstrapStatus, replyPrefixes: bootstrapReplies, requestType: BootstrapStatusRequestV1, replyType: BootstrapStatusV1, handler: (q) => service.status(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.approve, requestType: MachineApprovalV1, replyType: MachineListV1, handler: (q) => service.approve(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.machines, requestType: MachineListRequestV1, replyType: MachineListV1, handler: (q) => service.list(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.provision, requestType: ProvisioningRequestV1, replyType: ProvisionStatusV1, handler: (q) => meter.provision(() => provisioning.provision(q)), maxInFlight: 1024 }),
    await serve(conn, { ...common, subject: API_SUBJECTS.provisionStatus, requestType: ProvisionStatusRequestV1, replyType: ProvisionStatusV1, handler: (q) => provisioning.status(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.holons, requestType: HolonListRequestV1, replyType: HolonListV1, handler: (q) => provisioning.list(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.budgetTopup, requestType: BudgetTopupV1, replyType: ProvisionStatusV1, handler: (q) => provisioning.topup(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.jobRun, requestType: JobRequestV1, replyType: JobResultV1, handler: (q) => provisioning.runJob(q) }),
    await serve(conn, { ...common, subject: API_SUBJECTS.teardown, requestType: TeardownRequestV1, replyType: ProvisionStatusV1, handler: (q) => meter.teardown(() => provisioning.teardown(q)) }),
    await serve(conn, {
      ...common,
      subject: `${HOLON_ROOT}.*.${UNIT_REPORT_TOKEN}`,
      requestType: UnitReportV1,
      replyType: UnitReportReplyV1,
      handler: (q, ctx) => meter.unitReport(q, () => provisioning.unitReport(q, ctx.subject, ctx.requester)),
      maxInFlight: 1024,
    }),
  ];
  // Metering (DESIGN §7): the agents' batches on evt.*.metering; exhaustion goes through the provisioning service.
  const metering = new MeteringService({
    holons: { byHolon: (h) => provisions.byHolon(h) },
    machines: { get: (id) => store.getMachine(id) },
    onExhausted: (h, ex): Promise<unknown> => provisioning.budgetExhausted(h, ex),
    clock: systemClock,
    log: log.child({ component: 'metering' }),
    metrics,
    pricesOf: (id) => pricesFor(store.getMachine(id), cell.policy),
  });
  const meteringSub = subscribeEvents(conn, `${EVT_ROOT}.*.metering`, (subject, data) => {
    const out = metering.ingest(subject, data);
    if (out !== undefined) liveness.seen(out.machineId, systemClock.now());
  });
  const isEnrolled = (id: PublicKeyIdV1): boolean => store.getMachine(id)?.state === 'ENROLLED';
  const heartbeatSub = subscribeEvents(conn, `${EVT_ROOT}.*.heartbeat`, (subject, data) => void liveness.heartbeat(subject, data, isEnrolled, systemClock.now()));
  const sweeper = setInterval(() => {
    try {
      service.sweep();
      metering.sweep();
    } catch (e) {
      log.error({ err: e }, 'session sweep failed');
    }
  }, 10_000);
  sweeper.unref();
  ready.serving = true;
  log.info({ cell: cell.cellId, principal: cell.principalKey, database: cfg.database, machines: store.countMachines(), metrics: endpoints?.url ?? null }, 'holon-orchestrator ready');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    ready.serving = false;
    log.info({ signal }, 'stopping: no new requests, draining in-flight ones');
    clearInterval(sweeper);
    meteringSub.close();
    heartbeatSub.close();
    await Promise.all(services.map((s) => s.stop({ graceMs: 10_000 })));
    // Everything this process wrote is on the ledger now: record the position the projection reflects.
    try {
      provisions.setMeta(META_LEDGER_SEQ, String(await ledgerLastSeq(admin)));
      provisions.setMeta(META_CLEAN_STOP, '1');
    } catch (e) {
      log.warn({ err: e }, 'could not record the ledger position at stop; the next start trusts the outbox');
    }
    for (const c of [conn, writerConn, admin]) await c.close().catch((e: unknown) => log.warn({ err: e }, 'bus close failed'));
    store.close();
    provisions.close();
    await endpoints?.close();
    log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

async function main(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { config: { type: 'string' }, 'check-config': { type: 'boolean' }, rebuild: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } },
    }));
  } catch (e) {
    fail(`${(e as Error).message}\n${USAGE}`, 2);
  }
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  if (values.version === true) {
    process.stdout.write(`holon-orchestrator ${packageVersion()}\n`);
    process.exit(0);
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
  process.stderr.write(`${stderrPrefix()}holon-orchestrator: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
