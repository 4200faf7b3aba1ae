/**
 * A real software TPM 2.0 for tests and benchmarks: `swtpm` in socket mode
 * on random free TCP ports, with fresh state manufactured by `swtpm_setup`
 * (RSA-2048 and ECC P-384 EKs, EK and platform certificates in NV) signed by
 * a private `swtpm_localca` whose configuration, keys and serial counter live
 * in the harness's temp dir — nothing under /etc or /var/lib is touched.
 *
 * tpm2-tools reach it through `TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=N`
 * (libtss2-tcti-swtpm). swtpm starts with `--flags not-need-init` and the
 * harness sends TPM2_Startup(CLEAR) with `tpm2_startup -c`, as firmware would.
 *
 * Missing binaries FAIL LOUDLY naming the Debian packages: a TPM test that
 * silently skips is a test that never runs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class SwtpmHarnessError extends Error {
  override name = 'SwtpmHarnessError';
}

const SEARCH_DIRS = ['/usr/bin', '/usr/local/bin', '/usr/sbin', '/bin'];
const NEEDED: ReadonlyArray<[string, string]> = [
  ['swtpm', 'swtpm'],
  ['swtpm_setup', 'swtpm-tools'],
  ['swtpm_localca', 'swtpm-tools'],
  ['tpm2_startup', 'tpm2-tools'],
  ['tpm2_shutdown', 'tpm2-tools'],
];
const TCTI_LIBS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/local/lib'].map((d) =>
  join(d, 'libtss2-tcti-swtpm.so.0'),
);

function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...SEARCH_DIRS];
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** Paths of the binaries the harness runs; throws naming the missing Debian packages. */
export function findSwtpmTools(): Record<string, string> {
  const found: Record<string, string> = {};
  const missing = new Set<string>();
  for (const [bin, pkg] of NEEDED) {
    const p = which(bin);
    if (p === undefined) missing.add(`${bin} (Debian package ${pkg})`);
    else found[bin] = p;
  }
  if (!TCTI_LIBS.some((l) => existsSync(l))) missing.add('libtss2-tcti-swtpm.so.0 (Debian package libtss2-tcti-swtpm0)');
  if (missing.size > 0) {
    throw new SwtpmHarnessError(
      `the TPM tests need a real software TPM; missing: ${[...missing].join(', ')}. ` +
        'Install with `apt-get install swtpm swtpm-tools tpm2-tools libtss2-tcti-swtpm0`.',
    );
  }
  return found;
}

export interface SwtpmOptions {
  /** PCR banks to activate (swtpm_setup --pcr-banks), default `sha256`. */
  pcrBanks?: string;
  /** Keep the temp dir after stop() for post-mortems. */
  keepDir?: boolean;
  /** Start-up timeout in ms (default 20 s; manufacturing takes ~1.5 s). */
  readyTimeoutMs?: number;
}

/** Two consecutive free ports on 127.0.0.1 (the swtpm TCTI puts the control channel at port + 1). */
async function freePortPair(): Promise<number> {
  const listen = (port: number): Promise<{ port: number; close: () => Promise<void> } | undefined> =>
    new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(undefined));
      srv.listen(port, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr !== null ? addr.port : 0;
        resolve({ port: p, close: () => new Promise((r) => srv.close(() => r())) });
      });
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const a = await listen(0);
    if (a === undefined) continue;
    const b = a.port < 65535 ? await listen(a.port + 1) : undefined;
    await a.close();
    if (b !== undefined) {
      await b.close();
      return a.port;
    }
  }
  throw new SwtpmHarnessError('no two consecutive free TCP ports found on 127.0.0.1');
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** One manufactured software TPM, running or stopped. */
export class Swtpm {
  readonly dir: string;
  readonly stateDir: string;
  readonly caDir: string;
  readonly logFile: string;
  #tools: Record<string, string>;
  #port = 0;
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  readonly #opts: SwtpmOptions;

  private constructor(tools: Record<string, string>, opts: SwtpmOptions) {
    this.#tools = tools;
    this.#opts = opts;
    this.dir = mkdtempSync(join(tmpdir(), 'holonet-swtpm-'));
    this.stateDir = join(this.dir, 'state');
    this.caDir = join(this.dir, 'ca');
    this.logFile = join(this.dir, 'swtpm.log');
  }

  /** Manufacture a fresh TPM (EK certs in NV), start it, and send TPM2_Startup(CLEAR). */
  static async start(opts: SwtpmOptions = {}): Promise<Swtpm> {
    const tpm = new Swtpm(findSwtpmTools(), opts);
    try {
      await tpm.#manufacture();
      await tpm.#launch();
      await tpm.#tpm2('tpm2_startup', ['-c']);
    } catch (e) {
      await tpm.stop().catch(() => undefined);
      throw e;
    }
    return tpm;
  }

  /** The TCTI string for tpm2-tools (`TPM2TOOLS_TCTI` or `-T`). */
  get tcti(): string {
    return `swtpm:host=127.0.0.1,port=${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The local CA's root certificate (PEM): the trust anchor for this TPM's EK certificates. */
  get rootCaPem(): string {
    return readFileSync(join(this.caDir, 'swtpm-localca-rootca-cert.pem'), 'utf8');
  }

  /** The local CA's intermediate (issuing) certificate (PEM). */
  get intermediateCaPem(): string {
    return readFileSync(join(this.caDir, 'issuercert.pem'), 'utf8');
  }

  /** The RSA EK certificate swtpm_setup wrote alongside the NV copy (DER). */
  get rsaEkCertificateFile(): Uint8Array {
    return readFileSync(join(this.dir, 'certs', 'ek-rsa2048.crt'));
  }

  async #manufacture(): Promise<void> {
    for (const d of [this.stateDir, this.caDir, join(this.dir, 'certs')]) mkdirSync(d, { mode: 0o700 });
    const localcaConf = join(this.dir, 'swtpm-localca.conf');
    writeFileSync(
      localcaConf,
      [
        `statedir = ${this.caDir}`,
        `signingkey = ${join(this.caDir, 'signkey.pem')}`,
        `issuercert = ${join(this.caDir, 'issuercert.pem')}`,
        `certserial = ${join(this.caDir, 'certserial')}`,
        '',
      ].join('\n'),
    );
    const options = join(this.dir, 'swtpm-localca.options');
    if (existsSync('/etc/swtpm-localca.options')) copyFileSync('/etc/swtpm-localca.options', options);
    else writeFileSync(options, '--platform-manufacturer Holonet\n--platform-version 2.1\n--platform-model swtpm\n');
    const setupConf = join(this.dir, 'swtpm_setup.conf');
    writeFileSync(
      setupConf,
      [
        `create_certs_tool = ${this.#tools.swtpm_localca as string}`,
        `create_certs_tool_config = ${localcaConf}`,
        `create_certs_tool_options = ${options}`,
        `active_pcr_banks = ${this.#opts.pcrBanks ?? 'sha256'}`,
        '',
      ].join('\n'),
    );
    const args = ['--tpm2', '--tpm-state', this.stateDir];
    args.push('--create-ek-cert', '--create-platform-cert', '--config', setupConf);
    args.push('--pcr-banks', this.#opts.pcrBanks ?? 'sha256', '--write-ek-cert-files', join(this.dir, 'certs'));
    args.push('--logfile', join(this.dir, 'setup.log'));
    // XDG_CONFIG_HOME points into the temp dir so no per-user config file is read or created.
    const env = { ...process.env, XDG_CONFIG_HOME: this.dir };
    try {
      await run(this.#tools.swtpm_setup as string, args, { env, timeout: this.#opts.readyTimeoutMs ?? 20_000 });
    } catch (e) {
      throw new SwtpmHarnessError(`swtpm_setup failed: ${(e as Error).message}\n${this.#tail(join(this.dir, 'setup.log'))}`);
    }
  }

  async #launch(): Promise<void> {
    const deadline = Date.now() + (this.#opts.readyTimeoutMs ?? 20_000);
    let lastError = 'not started';
    for (let attempt = 0; attempt < 5 && Date.now() < deadline; attempt++) {
      const port = this.#port !== 0 && attempt === 0 ? this.#port : await freePortPair();
      const args = ['socket', '--tpm2', '--tpmstate', `dir=${this.stateDir}`];
      args.push('--server', `type=tcp,port=${port},bindaddr=127.0.0.1`, '--ctrl', `type=tcp,port=${port + 1},bindaddr=127.0.0.1`);
      args.push('--flags', 'not-need-init', '--log', `file=${this.logFile}`);
      const child = spawn(this.#tools.swtpm as string, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      this.#child = child;
      this.#exited = new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.once('error', () => resolve());
      });
      while (Date.now() < deadline && this.running) {
        if (await canConnect(port)) {
          this.#port = port;
          return;
        }
        await sleep(10);
      }
      lastError = `swtpm exited (${stderr.trim() || 'no stderr'})`;
      await this.#kill();
    }
    throw new SwtpmHarnessError(`swtpm did not start: ${lastError}\n${this.#tail(this.logFile)}`);
  }

  async #tpm2(tool: string, args: string[]): Promise<void> {
    const bin = which(tool);
    if (bin === undefined) throw new SwtpmHarnessError(`${tool} not found (Debian package tpm2-tools)`);
    try {
      await run(bin, args, { env: { ...process.env, TPM2TOOLS_TCTI: this.tcti }, timeout: 10_000 });
    } catch (e) {
      throw new SwtpmHarnessError(`${tool} ${args.join(' ')} failed: ${(e as Error).message}`);
    }
  }

  /**
   * Power-cycle the TPM: TPM2_Shutdown(CLEAR) when `orderly`, stop swtpm,
   * start it on the same state and ports, TPM2_Startup(CLEAR). resetCount
   * goes up by one and saved transient contexts no longer load — a reboot.
   */
  async reboot(opts: { orderly?: boolean } = {}): Promise<void> {
    if (opts.orderly !== false) await this.#tpm2('tpm2_shutdown', ['-c']);
    await this.#kill();
    await this.#launch();
    await this.#tpm2('tpm2_startup', ['-c']);
  }

  async #kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    child.kill('SIGTERM');
    const timedOut = await Promise.race([(this.#exited ?? Promise.resolve()).then(() => false), sleep(3000).then(() => true)]);
    if (timedOut) {
      child.kill('SIGKILL');
      await this.#exited;
    }
  }

  #tail(file: string, lines = 20): string {
    try {
      return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Stop swtpm and remove its state, CA and logs (unless keepDir). */
  async stop(): Promise<void> {
    await this.#kill();
    if (this.#opts.keepDir !== true) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Convenience: manufacture and start one software TPM. */
export function startSwtpm(opts: SwtpmOptions = {}): Promise<Swtpm> {
  return Swtpm.start(opts);
}
