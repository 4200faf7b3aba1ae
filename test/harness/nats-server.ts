/**
 * A real `nats-server -js` for tests and benchmarks: random ports, a temp
 * store, readiness by `/healthz`, and stop / kill -9 / restart with the same
 * store and ports (chaos tests). Modelled on nats.js `nst/src/launcher.ts`.
 *
 * The binary is the newest nats-server on this machine (see findNatsServer),
 * or `bin` when a test needs a specific one (the 2.9 compatibility test). If
 * there is none this FAILS LOUDLY with the command that installs it — a bus
 * test that silently skips is a test that never runs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, openSync, closeSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export class NatsHarnessError extends Error {
  override name = 'NatsHarnessError';
}

// Servers still running when the test process exits (a crash, a forgotten
// stop()) are killed with it, so no orphan nats-server outlives a test run.
const live = new Map<ChildProcess, string | null>();
const killLive = (): void => {
  for (const [child, dir] of live) {
    child.kill('SIGKILL');
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  }
};
process.once('exit', killLive);
// A test runner's timeout arrives as a signal, which skips 'exit': clean up, then die of the same signal.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    killLive();
    process.kill(process.pid, signal);
  });
}

/** Where deploy/install-deps.sh puts the Go-built nats-server when not run as root (this file runs as dist/test/harness/). */
export const PROJECT_TOOLS_BIN = fileURLToPath(new URL('../../../.tools/bin', import.meta.url));
/** Debian 12's packaged nats-server (2.9.10): kept for the compatibility test only. */
export const DEBIAN_NATS_SERVER = '/usr/sbin/nats-server';
/** Oldest nats-server the project runs on: `sync_interval` (fsync before the ack) needs it. */
export const MIN_NATS_SERVER = '2.10.0';
const INSTALL_HINT =
  'as root run `bash deploy/install-deps.sh`, which builds it with ' +
  '`GOBIN=/usr/local/bin go install github.com/nats-io/nats-server/v2@v2.15.3` (Go >= 1.26)';

const SEARCH_DIRS = [PROJECT_TOOLS_BIN, '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

const versions = new Map<string, string | null>();

/** `x.y.z` from `<bin> --version` ("nats-server: v2.15.3"), or null if it prints none. Cached per path. */
export function natsServerVersion(bin: string): string | null {
  let v = versions.get(bin);
  if (v === undefined) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    v = /v?(\d+\.\d+\.\d+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? null;
    versions.set(bin, v);
  }
  return v;
}

/** Compare dotted versions numerically: negative, 0 or positive. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Path of the nats-server binary for tests: $NATS_SERVER_BIN if set; otherwise
 * the NEWEST (by `--version`) of every nats-server in $PATH, the project's
 * .tools/bin and the usual sbin dirs — so a Go-built 2.15 in /usr/local/bin or
 * .tools/bin wins over Debian's 2.9 in /usr/sbin whatever the PATH order. On a
 * tie the first found wins.
 */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env, searchDirs: readonly string[] = SEARCH_DIRS): string {
  const fromEnv = env.NATS_SERVER_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new NatsHarnessError(`NATS_SERVER_BIN=${fromEnv} is not an executable file`);
  }
  const dirs = [...(env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...searchDirs];
  const seen = new Set<string>();
  let best: { path: string; version: string } | undefined;
  let unversioned: string | undefined;
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    if (!isExecutable(candidate)) continue;
    const real = realpathSync(candidate);
    if (seen.has(real)) continue;
    seen.add(real);
    const version = natsServerVersion(candidate);
    if (version === null) unversioned ??= candidate;
    else if (best === undefined || compareVersions(version, best.version) > 0) best = { path: candidate, version };
  }
  const found = best?.path ?? unversioned;
  if (found !== undefined) return found;
  throw new NatsHarnessError(
    'nats-server binary not found (looked in $NATS_SERVER_BIN, $PATH, ' +
      `${searchDirs.join(', ')}). The bus tests need a real server, ${MIN_NATS_SERVER} or newer: ${INSTALL_HINT}; ` +
      'without Go, install it with `apt-get install nats-server` (Debian 12: 2.9.10, too old for sync_interval) ' +
      'or `pkg install nats-server` (FreeBSD), or set NATS_SERVER_BIN.',
  );
}

/** Debian's 2.9 nats-server for the compatibility test, or why there is none to test. */
export function legacyNatsServer(bin = DEBIAN_NATS_SERVER): { bin: string; version: string } | { skip: string } {
  if (!isExecutable(bin)) return { skip: `${bin} is absent (Debian's nats-server package, 2.9.10, is not installed)` };
  const version = natsServerVersion(bin);
  if (version === null) return { skip: `${bin} --version printed no version` };
  if (compareVersions(version, MIN_NATS_SERVER) >= 0) return { skip: `${bin} is ${version}, not a pre-${MIN_NATS_SERVER} server` };
  return { bin, version };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface NatsServerOptions {
  /** This nats-server binary instead of findNatsServer()'s choice. */
  bin?: string;
  /** Enable JetStream (default true). */
  jetstream?: boolean;
  /** Use this config file text instead of flags (ports still come from flags unless `fixedPorts`). */
  config?: string;
  /** Extra command-line arguments. */
  args?: string[];
  /** Server name (default `n1`). */
  name?: string;
  /** Readiness timeout in ms (default 15 s). */
  readyTimeoutMs?: number;
  /** Keep the temp dir after stop() (for post-mortems). */
  keepDir?: boolean;
  /** Known ports (cluster nodes); otherwise -1 and a ports file. */
  fixedPorts?: { client: number; monitor: number };
  /** Directory to use instead of a fresh temp dir (shared by a cluster). */
  dir?: string;
  /** Don't wait for /healthz (a cluster node cannot be healthy before its peers exist). */
  skipHealth?: boolean;
}

interface PortsFile {
  nats?: string[];
  monitoring?: string[];
}

/** One running (or stopped) nats-server process. */
export class NatsServer {
  readonly name: string;
  readonly dir: string;
  readonly storeDir: string;
  readonly logFile: string;
  #child: ChildProcess | undefined;
  #exited: Promise<number | null> | undefined;
  #port = 0;
  #monitorPort = 0;
  readonly #opts: NatsServerOptions;
  readonly #bin: string;

  private constructor(bin: string, opts: NatsServerOptions) {
    this.#bin = bin;
    this.#opts = opts;
    this.name = opts.name ?? 'n1';
    this.dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'holonet-nats-'));
    this.storeDir = join(this.dir, `store-${this.name}`);
    this.logFile = join(this.dir, `${this.name}.log`);
    if (opts.fixedPorts) {
      this.#port = opts.fixedPorts.client;
      this.#monitorPort = opts.fixedPorts.monitor;
    }
  }

  /** Start a server and wait until it is ready. */
  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const server = new NatsServer(opts.bin ?? findNatsServer(), opts);
    try {
      await server.#spawn();
    } catch (e) {
      await server.stop().catch(() => undefined);
      throw e;
    }
    return server;
  }

  /** The binary this server runs. */
  get bin(): string {
    return this.#bin;
  }
  get url(): string {
    return `nats://127.0.0.1:${this.#port}`;
  }
  get port(): number {
    return this.#port;
  }
  get monitorUrl(): string {
    return `http://127.0.0.1:${this.#monitorPort}`;
  }
  get pid(): number | undefined {
    return this.#child?.pid;
  }
  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  #args(): string[] {
    const first = this.#port === 0;
    const args = ['-a', '127.0.0.1', '-p', first ? '-1' : String(this.#port), '-m', first ? '-1' : String(this.#monitorPort)];
    args.push('--server_name', this.name);
    if (first) args.push('--ports_file_dir', this.dir);
    if (this.#opts.jetstream !== false) args.push('-js', '-sd', this.storeDir);
    if (this.#opts.config !== undefined) {
      const cfg = join(this.dir, `${this.name}.conf`);
      writeFileSync(cfg, this.#opts.config);
      args.push('-c', cfg);
    }
    args.push(...(this.#opts.args ?? []));
    return args;
  }

  async #spawn(): Promise<void> {
    const logFd = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.#bin, this.#args(), { stdio: ['ignore', logFd, logFd], detached: false });
    } finally {
      closeSync(logFd);
    }
    this.#child = child;
    live.set(child, this.#opts.keepDir === true || this.#opts.dir !== undefined ? null : this.dir);
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        live.delete(child);
        resolve(code);
      });
      child.once('error', () => {
        live.delete(child);
        resolve(-1);
      });
    });
    const deadline = Date.now() + (this.#opts.readyTimeoutMs ?? 15_000);
    if (this.#port === 0) await this.#readPortsFile(child, deadline);
    if (this.#opts.skipHealth !== true) await this.waitHealthy(deadline);
  }

  async #readPortsFile(child: ChildProcess, deadline: number): Promise<void> {
    const file = join(this.dir, `nats-server_${child.pid}.ports`);
    while (Date.now() < deadline) {
      this.#assertAlive();
      if (existsSync(file)) {
        try {
          const ports = JSON.parse(readFileSync(file, 'utf8')) as PortsFile;
          const client = ports.nats?.[0];
          const monitor = ports.monitoring?.[0];
          if (client !== undefined && monitor !== undefined) {
            this.#port = Number(new URL(client).port);
            this.#monitorPort = Number(new URL(monitor).port);
            return;
          }
        } catch {
          // partially written; retry
        }
      }
      await sleep(20);
    }
    throw new NatsHarnessError(`nats-server ${this.name} wrote no ports file in time\n${this.logTail()}`);
  }

  #assertAlive(): void {
    if (!this.running) {
      throw new NatsHarnessError(`nats-server ${this.name} exited during start-up\n${this.logTail()}`);
    }
  }

  /** Poll `/healthz` (JetStream current) until it answers ok. */
  async waitHealthy(deadline = Date.now() + 15_000): Promise<void> {
    let last = 'no answer';
    while (Date.now() < deadline) {
      this.#assertAlive();
      try {
        const res = await fetch(`${this.monitorUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
        const body = await res.text();
        if (res.ok) return;
        last = `${res.status} ${body.trim()}`;
      } catch (e) {
        last = (e as Error).message;
      }
      await sleep(50);
    }
    throw new NatsHarnessError(`nats-server ${this.name} not healthy in time (${last})\n${this.logTail()}`);
  }

  /** GET a monitoring endpoint (`/jsz`, `/varz`, …) as JSON. */
  async monitor(path: string): Promise<unknown> {
    const res = await fetch(`${this.monitorUrl}${path}`, { signal: AbortSignal.timeout(2000) });
    return res.json();
  }

  /** The last lines of this server's log, for failure messages. */
  logTail(lines = 20): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async #signalAndWait(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    child.kill(signal);
    const exited = this.#exited ?? Promise.resolve(null);
    const timedOut = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
    if (timedOut) {
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** Crash the node: SIGKILL, no shutdown, store left as it is. */
  async kill9(): Promise<void> {
    await this.#signalAndWait('SIGKILL', 5000);
  }

  /** Start the same node again: same name, ports, config and store. */
  async restart(opts: { skipHealth?: boolean } = {}): Promise<void> {
    if (this.running) throw new NatsHarnessError(`nats-server ${this.name} is still running`);
    const saved = this.#opts.skipHealth;
    this.#opts.skipHealth = opts.skipHealth ?? saved;
    try {
      await this.#spawn();
    } finally {
      this.#opts.skipHealth = saved;
    }
  }

  /** Graceful stop (SIGTERM, then SIGKILL after 5 s); removes the temp dir unless keepDir or a shared dir. */
  async stop(): Promise<void> {
    await this.#signalAndWait('SIGTERM', 5000);
    if (this.#opts.keepDir !== true && this.#opts.dir === undefined) {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** Convenience: start one JetStream server. */
export function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  return NatsServer.start(opts);
}
