#!/usr/bin/env node
/**
 * holon-agent — composition root (docs/deploy.md, "The daemons' contract"):
 *
 *   holon-agent --config <file> [--check-config]
 *   holon-agent --help | --version
 *
 * Validates the config (exit 78 naming the JSON path), then runs the agent
 * with the real ports: the data dir on disk, adapters/probes, adapters/tpm
 * (TpmAttestor), adapters/nats credentials and its agent bus
 * (adapters/nats/agent-bus.ts over @nats-io/transport-node).
 * JSON logs (pino) on stdout in the configured log_format, key material
 * redacted; /metrics, /healthz and /readyz (docs/metrics.md) unless
 * metrics.listen is off. SIGTERM/SIGINT: stop heartbeats, drain the
 * connection, close the endpoints, exit 0.
 *
 * Exit status: 0 clean stop or valid config; 78 configuration or key file
 * unusable; 2 the bootstrap was refused (the cell did not prove itself, or
 * refused this machine — the reason is in state.json and the log); 1 other.
 */
import { packageVersion } from '../adapters/release/package-version.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fmtCreds } from '@nats-io/jwt';
import { fromSeed } from '@nats-io/nkeys';
import type { Logger } from 'pino';
import { createDaemonLogger, stderrPrefix } from '../adapters/log/daemon-logger.js';
import { createPromMetrics, monotonicSeconds, reasonsOf, roundTrip, serveMetrics, MetricsListenError, type MetricsEndpoints } from '../adapters/metrics/index.js';
import { timed, type MetricsPort } from '../bus-schemas/metrics-port.js';
import type { LogFormat } from '../bus-schemas/observability-config.js';
import type { AgentBus, AgentBusConnector } from '../bus-schemas/units/bus-port.js';
import { natsAgentBus } from '../adapters/nats/agent-bus.js';
import { createNkeySeed, nkeyPublic } from '../adapters/nats/credentials.js';
import { createProbeManager } from '../adapters/probes/index.js';
import { createBastilleIsolation } from '../adapters/isolation/bastille/index.js';
import { createLinuxIsolation } from '../adapters/isolation/linux/index.js';
import { createNoopIsolation } from '../adapters/isolation/noop/index.js';
import { createDirectorySecretStore, createVaultwardenSecretStore, renderDotEnv, type SecretStore } from '../adapters/secrets/index.js';
import type { IsolationPort } from '../bus-schemas/units/port.js';
import type { TenantEnvPort } from './unit-steps.js';
import { TpmAttestor } from '../adapters/tpm/index.js';
import { BootstrapError } from '../bus-schemas/bootstrap/bootstrap-error.js';
import { systemClock } from '../bus-schemas/clock.js';
import type { PcrSelection } from '../bus-schemas/tpm/index.js';
import { AgentConfigError, CellRefusedError, CellReplyError, KeyFileError } from './agent-error.js';
import { runAgent, StopRequested } from './agent.js';
import { parseAgentConfig, type AgentConfig } from './config.js';
import { FsKeyStore } from './fs-key-store.js';
import { AGENT_FILES } from './key-store.js';
import type { TpmPort } from './host-ports.js';
import type { NkeyPort } from './machine-key.js';
import { TpmUnavailableError } from './tpm-evidence.js';

export const EXIT = { ok: 0, failure: 1, refused: 2, usage: 64, config: 78 } as const;

/** Secrets never reach the log, whatever object a log line carries. */
const REDACT = ['seed', '*.seed', 'creds', '*.creds', 'jwt', '*.jwt', 'nats_user_jwt', '*.nats_user_jwt', 'secret', '*.secret'];

function makeLogger(level: string, format: LogFormat): Logger {
  return createDaemonLogger({ name: 'holon-agent', level, format, redact: { paths: REDACT, censor: '[redacted]' } }).log;
}

/** The isolation port with its unit steps timed (holonet_provision_step_duration_seconds). */
function measuredIsolation(port: IsolationPort, metrics: MetricsPort): IsolationPort {
  const time = <T>(step: string, fn: () => Promise<T>): Promise<T> => timed(monotonicSeconds, (s) => metrics.step(step, s), fn);
  return {
    kind: port.kind,
    capabilities: port.capabilities,
    ...(port.idleProcesses !== undefined ? { idleProcesses: port.idleProcesses } : {}),
    ...(port.terminate !== undefined ? { terminate: port.terminate.bind(port) } : {}),
    create: (spec) => time('unit_create', () => port.create(spec)),
    destroy: (name) => time('unit_destroy', () => port.destroy(name)),
    inspect: (name) => port.inspect(name),
    list: () => port.list(),
    exec: (name, argv, opts) => port.exec(name, argv, opts),
    writeFile: (name, file) => port.writeFile(name, file),
    freeze: (name) => port.freeze(name),
    thaw: (name) => port.thaw(name),
    kill: (name) => port.kill(name),
    usage: (name) => port.usage(name),
  };
}

/**
 * /readyz: enrolled and running (`running`), and the bus the agent runs on answering a PING. The connector is
 * wrapped to keep the last bus it connected: the enrolled one once the agent runs (the bootstrap's is closed).
 */
class AgentReadiness {
  running = false;
  #bus: AgentBus | undefined;
  watch(connector: AgentBusConnector): AgentBusConnector {
    return { connect: async (o) => (this.#bus = await connector.connect(o)) };
  }
  notReady = (): Promise<string[]> => {
    const bus = this.#bus;
    return reasonsOf([() => (this.running ? undefined : 'not enrolled and running yet'), () => (bus === undefined ? 'not connected to NATS yet' : roundTrip('nats', () => bus.flush()))]);
  };
}

const nkeys: NkeyPort = {
  createUserSeed: () => createNkeySeed('user'),
  userPublicKey: (seed) => nkeyPublic(seed, 'user', 'agent NATS seed'),
  formatCreds: (jwt, seed) => new TextDecoder().decode(fmtCreds(jwt, fromSeed(new TextEncoder().encode(seed)))),
};

/** The isolation adapter, chosen once from the validated config. */
function isolationPort(cfg: AgentConfig, log: Logger): IsolationPort {
  switch (cfg.isolation) {
    case 'linux':
      return createLinuxIsolation({ stateDir: join(cfg.dataDir, 'isolation'), log: log.child({ component: 'isolation(linux)' }) });
    case 'bastille':
      return createBastilleIsolation({ release: cfg.bastille?.release ?? '', ...(cfg.bastille?.interface !== undefined ? { interface: cfg.bastille.interface } : {}) });
    case 'noop':
      log.warn('isolation "noop": units are not isolated at all (benchmarks and tests only)');
      return createNoopIsolation();
  }
}

/** Tenant secrets rendered as the unit's .env; the store's own credential stays here. */
function tenantEnvPort(cfg: AgentConfig, metrics: MetricsPort): TenantEnvPort | undefined {
  const s = cfg.secrets;
  if (s === undefined) return undefined;
  const store: SecretStore =
    s.store === 'directory' ? createDirectorySecretStore({ root: s.root }) : createVaultwardenSecretStore({ sessionFile: s.sessionFile, ...(s.bwPath !== undefined ? { bwPath: s.bwPath } : {}) });
  return {
    resolveEnv: (tenant) =>
      timed(monotonicSeconds, (s) => metrics.step('unit_secrets', s), async () => {
        const secrets = await store.resolve(tenant);
        return secrets === undefined ? undefined : renderDotEnv(secrets);
      }),
  };
}

function tpmPort(cfg: AgentConfig): TpmPort {
  const attestor = new TpmAttestor({ stateDir: join(cfg.dataDir, AGENT_FILES.tpmDir), ...(cfg.tpm.tcti ? { tcti: cfg.tpm.tcti } : {}) });
  return {
    provision: () => attestor.provision(),
    activateCredential: (idObject, encryptedSecret) => attestor.activateCredential(idObject, encryptedSecret),
    quote: (sel, qualifyingData) => attestor.quote({ bank: sel.bank as PcrSelection['bank'], pcrs: sel.pcrs }, qualifyingData),
  };
}

function exitFor(e: unknown): number {
  if (e instanceof StopRequested) return EXIT.ok;
  if (e instanceof AgentConfigError || e instanceof KeyFileError) return EXIT.config;
  if (e instanceof BootstrapError || e instanceof CellRefusedError || e instanceof CellReplyError || e instanceof TpmUnavailableError) return EXIT.refused;
  return EXIT.failure;
}

const USAGE = 'usage: holon-agent --config <file> [--check-config]\n       holon-agent --help | --version';

const HELP = `holon-agent — attests this machine to a Holonet cell and runs the units it provisions

${USAGE}

  --config <file>   the agent's JSON configuration (docs/agent.md)
  --check-config    validate the configuration and exit: 0 valid, 78 not
  --help            this text
  --version         the release

Logs JSON lines (pino) on stdout. SIGTERM or SIGINT: stop, exit 0.
Exit status: 0 clean stop or valid config; 78 configuration or key file
unusable; 2 the bootstrap was refused; 64 bad command line; 1 other.`;


export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { config: { type: 'string' }, 'check-config': { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } },
    }));
  } catch (e) {
    process.stderr.write(`holon-agent: ${(e as Error).message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if (values.version === true) {
    process.stdout.write(`holon-agent ${packageVersion()}\n`);
    return EXIT.ok;
  }
  const file = values.config;
  if (file === undefined || file === '') {
    process.stderr.write(`holon-agent: --config <file> is required\n${USAGE}\n`);
    return EXIT.usage;
  }
  let cfg: AgentConfig;
  try {
    let text: Buffer;
    try {
      text = await readFile(file);
    } catch (e) {
      throw new AgentConfigError(file, '$', `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    cfg = parseAgentConfig(text, file);
  } catch (e) {
    const err = e as AgentConfigError;
    if (values['check-config'] === true) process.stderr.write(`${err.message}\n`);
    else makeLogger('info', 'json').fatal({ code: err.code, file: err.file, path: err.path, reason: err.reason }, err.message);
    return EXIT.config;
  }
  if (values['check-config'] === true) {
    process.stdout.write(`${file}: ok\n`);
    return EXIT.ok;
  }

  const log = makeLogger(cfg.logLevel, cfg.logFormat);
  // The Prometheus figures (docs/metrics.md); `metrics` is the MetricsPort handed to runAgent (AgentPorts.metrics).
  const metrics = createPromMetrics({ daemon: 'holon-agent', version: packageVersion(), maxUnits: cfg.metrics.maxUnits });
  const ready = new AgentReadiness();
  let endpoints: MetricsEndpoints | undefined;
  try {
    endpoints = await serveMetrics(cfg.metrics.listen, metrics, ready.notReady, log);
  } catch (e) {
    if (!(e instanceof MetricsListenError)) throw e;
    log.fatal({ address: e.address, reason: e.reason, exit: EXIT.failure }, e.message);
    return EXIT.failure;
  }
  const controller = new AbortController();
  const stop = (signal: string): void => {
    log.info({ signal }, 'stopping');
    ready.running = false;
    controller.abort(new StopRequested(signal));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  const store = new FsKeyStore(cfg.dataDir);
  try {
    await runAgent(
      cfg,
      {
        store,
        nkeys,
        bus: ready.watch(natsAgentBus({ servers: cfg.nats.servers, connectTimeoutMs: cfg.bootstrap.requestTimeoutMs }, log)),
        probes: createProbeManager({ dataDir: cfg.dataDir, labels: cfg.labels }),
        tpm: cfg.tpm.mode === 'off' ? undefined : tpmPort(cfg),
        clock: systemClock,
        log,
        isolation: measuredIsolation(isolationPort(cfg, log), metrics),
        secrets: tenantEnvPort(cfg, metrics),
        metrics,
        ...(process.env.HOLONET_TEST_UNIT_CRASH_AFTER ? { unitCrashAfter: process.env.HOLONET_TEST_UNIT_CRASH_AFTER } : {}),
      },
      controller.signal,
      () => (ready.running = true),
    );
    return EXIT.ok;
  } catch (e) {
    const code = exitFor(e);
    if (code === EXIT.ok) {
      log.info('stopped');
      return code;
    }
    const fields = e instanceof Error && 'toJSON' in e ? (e as { toJSON(): Record<string, unknown> }).toJSON() : { err: e };
    log.fatal({ ...fields, exit: code }, (e as Error).message);
    return code;
  } finally {
    ready.running = false;
    await endpoints?.close();
  }
}

// Exit explicitly: a TPM tool child or a timer left by a failed step must not keep a stopped daemon alive.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${stderrPrefix()}holon-agent: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(EXIT.failure);
  },
);
