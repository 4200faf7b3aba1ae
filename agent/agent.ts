/**
 * holon-agent's life, over ports only (main.ts wires the real ones): keys,
 * bootstrap (or the stored enrollment), reconnect with the machine's own
 * credentials, heartbeats, and a clean stop when `signal` aborts.
 */
import type { Logger } from 'pino';
import type { IsolationPort } from '../bus-schemas/units/port.js';
import { UnitManager, type TenantEnvPort } from './unit-manager.js';
import type { Clock } from '../bus-schemas/clock.js';
import type { MetricsPort } from '../bus-schemas/metrics-port.js';
import { BootstrapClient } from './bootstrap-client.js';
import type { AgentBus, AgentBusConnector } from './bus-port.js';
import { bootstrapInboxPrefix, inboxPrefix } from '../bus-schemas/subjects.js';
import type { AgentConfig } from './config.js';
import type { Enrollment } from './enrollment.js';
import { Heartbeat } from './heartbeat.js';
import { Meter } from './meter.js';
import type { HostProbePort, TpmPort } from './host-ports.js';
import type { KeyStore } from './key-store.js';
import { loadOrCreateMachineKey, loadOrCreateNatsKey, type NkeyPort } from './machine-key.js';

export interface AgentPorts {
  store: KeyStore;
  nkeys: NkeyPort;
  bus: AgentBusConnector;
  probes: HostProbePort;
  tpm: TpmPort | undefined;
  clock: Clock;
  log: Logger;
  /** the isolation adapter; absent = this agent takes no unit commands */
  isolation?: IsolationPort;
  secrets?: TenantEnvPort;
  /** test fault injection (HOLONET_TEST_UNIT_CRASH_AFTER): SIGKILL after persisting this unit step */
  unitCrashAfter?: string;
  /** Prometheus figures (bus-schemas/metrics-port.ts, docs/metrics.md); absent: NOOP_METRICS. agent/main.ts passes the daemon's. */
  metrics?: MetricsPort;
}

/** Why the agent stopped on request (SIGTERM / SIGINT): not a failure. */
export class StopRequested extends Error {
  override name = 'StopRequested';
}

export interface RunningAgent {
  enrollment: Enrollment;
  heartbeat: Heartbeat;
}

/** Run until `signal` aborts; resolves after a clean stop, rejects with the error that ended it. */
export async function runAgent(cfg: AgentConfig, ports: AgentPorts, signal: AbortSignal, onRunning?: (r: RunningAgent) => void): Promise<void> {
  const log = ports.log;
  if (await ports.store.prepare()) log.warn({ dir: ports.store.dir }, 'data dir was accessible to group or others; narrowed to 0700');
  const machine = await loadOrCreateMachineKey(ports.store);
  const nats = await loadOrCreateNatsKey(ports.store, ports.nkeys);
  log.info({ machine_id: machine.machineId, nats_user: nats.key.publicKey, new_machine_key: machine.created }, 'machine identity');
  const name = cfg.nats.name ?? `holon-agent ${machine.machineId}`;

  const client = new BootstrapClient({
    store: ports.store,
    machine,
    natsKey: nats.key,
    nkeys: ports.nkeys,
    connect: () => ports.bus.connect({ ...(cfg.nats.bootstrapCreds ? { credsFile: cfg.nats.bootstrapCreds } : {}), inboxPrefix: bootstrapInboxPrefix(machine.machineId), name: `${name} (bootstrap)` }),
    probes: ports.probes,
    ...(ports.isolation !== undefined ? { isolation: ports.isolation.capabilities } : {}),
    tpm: { port: ports.tpm, policy: cfg.tpm.mode },
    pinnedRoots: cfg.principalRoots,
    admission: { difficulty: cfg.admissionDifficulty, maxDifficulty: cfg.admissionMaxDifficulty, maxVdfIterations: cfg.admissionMaxVdfIterations },
    requestTimeoutMs: cfg.bootstrap.requestTimeoutMs,
    pollInitialMs: cfg.bootstrap.pollInitialMs,
    pollMaxMs: cfg.bootstrap.pollMaxMs,
    clock: ports.clock,
    log,
    signal,
  });
  // A stop in the middle of a request must not wait for its timeout.
  // A stop that came while the keys were loading ends here, before anything is sent.
  if (signal.aborted) return;
  const closeBootstrap = (): void => void client.close();
  signal.addEventListener('abort', closeBootstrap, { once: true });
  let enrollment: Enrollment;
  try {
    enrollment = await client.run();
  } catch (e) {
    // Closing the bootstrap connection fails whatever request was in flight;
    // when a stop was asked for, that failure is the stop, not an error.
    if (signal.aborted) return;
    throw e;
  } finally {
    signal.removeEventListener('abort', closeBootstrap);
    await client.close();
  }
  if (signal.aborted) return;

  const bus: AgentBus = await ports.bus.connect({ credsFile: enrollment.credsFile, inboxPrefix: inboxPrefix(machine.machineId), name });
  const heartbeat = new Heartbeat({
    bus,
    signer: machine.signer,
    machineId: machine.machineId,
    holonId: enrollment.holonId,
    intervalMs: cfg.heartbeatIntervalMs,
    clock: ports.clock,
    log: log.child({ component: 'heartbeat' }),
  });
  const units =
    ports.isolation === undefined
      ? undefined
      : new UnitManager({
          bus,
          isolation: ports.isolation,
          secrets: ports.secrets,
          store: ports.store,
          nkeys: ports.nkeys,
          machine: { machineId: machine.machineId, signer: machine.signer },
          hostHolon: enrollment.holonId,
          cellId: enrollment.cellCertificate.cell_id,
          clock: ports.clock,
          log: log.child({ component: 'units' }),
          requestTimeoutMs: cfg.bootstrap.requestTimeoutMs,
          ...(ports.unitCrashAfter !== undefined ? { crashAfter: ports.unitCrashAfter } : {}),
        });
  const meter =
    units === undefined || ports.isolation === undefined
      ? undefined
      : new Meter({
          isolation: ports.isolation,
          units: () => units.running(),
          store: ports.store,
          bus,
          signer: machine.signer,
          machineId: machine.machineId,
          hostHolon: enrollment.holonId,
          clock: ports.clock,
          log: log.child({ component: 'meter' }),
          intervalMs: cfg.meterIntervalMs,
          ...(ports.metrics !== undefined ? { metrics: ports.metrics } : {}),
        });
  try {
    heartbeat.start();
    await units?.start();
    meter?.start();
    log.info({ holon_id: enrollment.holonId, isolation: ports.isolation?.kind ?? 'none' }, 'holon-agent running');
    onRunning?.({ enrollment, heartbeat });
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  } finally {
    await meter?.stop();
    await units?.stop();
    heartbeat.stop();
    await bus.close();
    log.info({ heartbeats: heartbeat.sent }, 'stopped');
  }
}
