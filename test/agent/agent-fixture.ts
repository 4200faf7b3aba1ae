/**
 * Runs the agent in-process with its real ports — the data dir on disk, the
 * NATS connector, adapters/nats credentials, a TpmAttestor on swtpm — except
 * the host probes, which report the fixed sample host (the spawned-process
 * tests run the real probes). Logs are captured as parsed JSON lines.
 */
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { fmtCreds } from '@nats-io/jwt';
import { fromSeed } from '@nats-io/nkeys';
import { pino, type Logger } from 'pino';
import { natsAgentBus } from '../../adapters/nats/agent-bus.js';
import { createNkeySeed, nkeyPublic } from '../../adapters/nats/credentials.js';
import { TpmAttestor } from '../../adapters/tpm/index.js';
import { runAgent, StopRequested, type RunningAgent } from '../../agent/agent.js';
import { parseAgentConfig, type AgentConfig } from '../../agent/config.js';
import { FsKeyStore } from '../../agent/fs-key-store.js';
import type { HostProbePort, TpmPort } from '../../agent/host-ports.js';
import type { NkeyPort } from '../../agent/machine-key.js';
import { systemClock } from '../../bus-schemas/clock.js';
import type { PcrSelection } from '../../bus-schemas/tpm/index.js';
import { platformReport, resourceCapacity } from '../bus-schemas/v1/samples.js';

export const nkeys: NkeyPort = {
  createUserSeed: () => createNkeySeed('user'),
  userPublicKey: (seed) => nkeyPublic(seed, 'user'),
  formatCreds: (jwt, seed) => new TextDecoder().decode(fmtCreds(jwt, fromSeed(new TextEncoder().encode(seed)))),
};

export const sampleProbes: HostProbePort = {
  run: async () => ({ report: { ...platformReport(), tpm: { present: false, version: null } }, capacity: resourceCapacity(), addresses: [] }),
};

export function swtpmPort(stateDir: string, tcti: string): TpmPort {
  const a = new TpmAttestor({ stateDir, tcti });
  return {
    provision: () => a.provision(),
    activateCredential: (i, s) => a.activateCredential(i, s),
    quote: (sel, q) => a.quote({ bank: sel.bank as PcrSelection['bank'], pcrs: sel.pcrs }, q),
  };
}

export interface AgentConfigInput {
  dataDir: string;
  natsUrl: string;
  bootstrapCreds: string;
  principalRoot: string;
  tcti?: string;
  tpmMode?: 'auto' | 'required' | 'off';
}

/** The JSON config an operator would write for this test bus. */
export function configJson(c: AgentConfigInput): Record<string, unknown> {
  return {
    data_dir: c.dataDir,
    nats: { servers: [c.natsUrl], bootstrap_creds: c.bootstrapCreds },
    log_level: 'debug',
    // Any free port: tests run agents side by side (docs/metrics.md).
    metrics: { listen: '127.0.0.1:0' },
    isolation: 'linux',
    principal_root: c.principalRoot,
    tpm: { mode: c.tpmMode ?? 'required', ...(c.tcti ? { tcti: c.tcti } : {}) },
    heartbeat_interval_ms: 200,
    admission_difficulty: 4,
    bootstrap: { request_timeout_ms: 5000, poll_initial_ms: 100, poll_max_ms: 300 },
  };
}

export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  raw = '';
  readonly logger: Logger;
  constructor() {
    const stream = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        const text = chunk.toString('utf8');
        this.raw += text;
        for (const l of text.split('\n')) if (l.trim() !== '') this.lines.push(JSON.parse(l));
        cb();
      },
    });
    this.logger = pino({ level: 'debug' }, stream);
  }
  messages(): string[] {
    return this.lines.map((l) => String(l.msg));
  }
}

export interface InProcessAgent {
  config: AgentConfig;
  log: LogCapture;
  /** resolves when runAgent ends (with the error if it failed) */
  done: Promise<unknown>;
  running: Promise<RunningAgent>;
  stop(): Promise<unknown>;
}

export function startAgent(input: AgentConfigInput & { tpm: TpmPort | undefined }): InProcessAgent {
  const config = parseAgentConfig(JSON.stringify(configJson(input)), join(input.dataDir, '..', 'agent.json'));
  const log = new LogCapture();
  const controller = new AbortController();
  let onRunning: (r: RunningAgent) => void = () => undefined;
  const running = new Promise<RunningAgent>((resolve) => (onRunning = resolve));
  const done = runAgent(
    config,
    {
      store: new FsKeyStore(config.dataDir),
      nkeys,
      bus: natsAgentBus({ servers: config.nats.servers, connectTimeoutMs: 5000 }, log.logger),
      probes: sampleProbes,
      tpm: input.tpm,
      clock: systemClock,
      log: log.logger,
    },
    controller.signal,
    onRunning,
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  return {
    config,
    log,
    done,
    running,
    stop: () => {
      controller.abort(new StopRequested('test'));
      return done;
    },
  };
}

/** Poll `check` every 20 ms until it returns a value, or fail after `ms`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
