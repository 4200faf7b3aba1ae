/**
 * A real local cell for provisioning tests: `holonctl up --json` (nats-server,
 * holon-orchestrator, holon-agent as processes, the machine enrolled), plus
 * a principal-side bus connection and the principal's signer from the data dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { connectBus, type BusConnection } from '../../adapters/nats/connect.js';
import { inboxPrefixFromCreds } from '../../adapters/nats/credentials.js';
import { encodeId, type CellIdV1, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { signerFromSeed, type Signer } from '../../bus-schemas/keys.js';
import { MAIN } from '../cli/init-helpers.js';

export interface UpReport {
  dir: string;
  cell_id: CellIdV1;
  nats_url: string;
  creds: string;
  machine_id: PublicKeyIdV1;
  pids: Record<string, number>;
}

export interface RunningUp {
  child: ChildProcess;
  report: UpReport;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** `--server … --creds … --dir …` for holonctl */
  bus: string[];
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Start `holonctl up --json` on `dir` and wait for its report. */
export async function startUp(dir: string, opts: { isolation?: 'linux' | 'noop'; env?: Record<string, string>; overcommit?: number } = {}): Promise<RunningUp> {
  const noTpm = existsSync('/dev/tpmrm0') ? ['--no-tpm'] : [];
  const child = spawn(process.execPath, [MAIN, 'up', '--dir', dir, '--json', '--isolation', opts.isolation ?? 'linux', ...(opts.overcommit !== undefined ? ['--overcommit', String(opts.overcommit)] : []), ...noTpm], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(opts.env ?? {}) },
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  let out = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const report = await new Promise<UpReport>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`holonctl up gave no JSON in 90 s; stderr:\n${err}`)), 90_000);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      try {
        const r = JSON.parse(out) as UpReport;
        clearTimeout(timer);
        resolve(r);
      } catch {
        // not complete yet
      }
    });
    void exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`holonctl up exited (${e.signal ?? String(e.code)}) before printing JSON; stderr:\n${err}`));
    });
  });
  return { child, report, stderr: () => err, exited, bus: ['--server', report.nats_url, '--creds', report.creds, '--dir', dir] };
}

/** Stop an up (SIGINT) and make sure nothing of it is left running. */
export async function stopUp(up: RunningUp): Promise<void> {
  if (up.child.exitCode === null && up.child.signalCode === null) up.child.kill('SIGINT');
  await up.exited;
  for (const pid of Object.values(up.report.pids)) if (alive(pid)) process.kill(pid, 'SIGKILL');
}

export function principalOf(dir: string): Signer {
  const f = JSON.parse(readFileSync(join(dir, 'keys/principal.key'), 'utf8')) as { seed: string; key_id: string };
  const s = signerFromSeed(new Uint8Array(Buffer.from(f.seed, 'base64url')));
  if (encodeId('key', s.publicKey) !== f.key_id) throw new Error('principal key file does not match its id');
  return s;
}

/** holonctl's own connection (the operator credential): requests, answered in the principal's inbox. */
export function busOf(up: RunningUp): Promise<BusConnection> {
  const inbox = inboxPrefixFromCreds(readFileSync(up.report.creds, 'utf8'));
  return connectBus({ servers: up.report.nats_url, credsFile: up.report.creds, reconnect: false, logger: pino({ level: 'silent' }), ...(inbox !== undefined ? { inboxPrefix: inbox } : {}) });
}

/** The cell's admin identity (the JetStream API), for tests that inspect streams. */
export function adminBusOf(up: RunningUp): Promise<BusConnection> {
  const creds = join(up.report.dir, 'nats/orchestrator-admin.creds');
  const inbox = inboxPrefixFromCreds(readFileSync(creds, 'utf8'));
  return connectBus({ servers: up.report.nats_url, credsFile: creds, reconnect: false, logger: pino({ level: 'silent' }), ...(inbox !== undefined ? { inboxPrefix: inbox } : {}) });
}
