/**
 * A real cell for the orchestrator tests: `holonctl init` into a temp dir,
 * a principal-sealed policy written beside it, an orchestrator.json, and the
 * real `holon-orchestrator` process (dist/orchestrator/main.js) started,
 * stopped with SIGTERM, or killed with SIGKILL. `holonctl` is run as the
 * real CLI too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeId, type CellIdV1, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { signerFromSeed, type Signer } from '../../bus-schemas/keys.js';
import { PolicyV1 } from '../../bus-schemas/v1/policy.js';

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ORCHESTRATOR_MAIN = join(DIST, 'orchestrator/main.js');
export const HOLONCTL_MAIN = join(DIST, 'cli/main.js');

export interface Cell {
  dir: string;
  principal: Signer;
  principalKey: PublicKeyIdV1;
  cellId: CellIdV1;
  cleanup(): void;
}

export function initCell(tpm: 'required' | 'optional' = 'required'): Cell {
  const root = mkdtempSync(join(tmpdir(), 'holonet-orch-'));
  const dir = join(root, 'cell');
  const r = spawnSync(process.execPath, [HOLONCTL_MAIN, 'init', '--dir', dir, '--principal-dir', dir, '--tpm', tpm, '--json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`holonctl init failed: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as { cell_id: CellIdV1 };
  const key = JSON.parse(readFileSync(join(dir, 'keys/principal.key'), 'utf8')) as { seed: string };
  const principal = signerFromSeed(new Uint8Array(Buffer.from(key.seed, 'base64url')));
  return { dir, principal, principalKey: encodeId('key', principal.publicKey), cellId: report.cell_id, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export function writePolicy(cell: Cell, name: string, fields: Partial<Omit<PolicyV1, 'principal_seal' | 'principal_key'>>): string {
  const policy = PolicyV1.seal(
    {
      serial: 2,
      principal_key: cell.principalKey,
      issued_at: Date.now(),
      tpm: 'required',
      tpm_required_roles: [],
      pcr_golden: [],
      preapproved_eks: [],
      denied_jurisdictions: [],
      admission_difficulty: 4,
      nonce_lifetime_ms: 60_000,
      ...fields,
    },
    cell.principal,
  );
  const path = join(cell.dir, name);
  writeFileSync(path, JSON.stringify(policy));
  return path;
}

export function writeConfig(cell: Cell, name: string, config: Record<string, unknown>): string {
  const path = join(cell.dir, name);
  // Metrics on any free port: tests run orchestrators side by side (docs/metrics.md).
  writeFileSync(path, JSON.stringify({ data_dir: cell.dir, log_level: 'debug', metrics: { listen: '127.0.0.1:0' }, ...config }));
  return path;
}

/** The running holon-orchestrator process, its JSON log lines collected. */
export class OrchestratorProcess {
  readonly lines: Record<string, unknown>[] = [];
  readonly #child: ChildProcess;
  readonly #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#exit = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
    let buf = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ raw: line });
        }
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => this.lines.push({ stderr: d }));
  }

  static async start(config: string, env: Record<string, string> = {}, args: string[] = []): Promise<OrchestratorProcess> {
    const child = spawn(process.execPath, [ORCHESTRATOR_MAIN, '--config', config, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const p = new OrchestratorProcess(child);
    const deadline = Date.now() + 20_000;
    while (!p.lines.some((l) => l.msg === 'holon-orchestrator ready')) {
      const exited = await Promise.race([p.#exit, new Promise((r) => setTimeout(r, 50, null))]);
      if (exited !== null || Date.now() > deadline) throw new Error(`orchestrator did not become ready: ${JSON.stringify(p.lines.slice(-5))}`);
    }
    return p;
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.#exit;
  }

  async kill9(): Promise<void> {
    this.#child.kill('SIGKILL');
    await this.#exit;
  }

  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGTERM');
    return this.#exit;
  }
}

/** Run holonctl; returns exit code, stdout, stderr. */
export function holonctl(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [HOLONCTL_MAIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
