/**
 * `holonctl up` end to end, as real processes: the CLI starts nats-server,
 * holon-orchestrator and holon-agent; the local machine (no TPM here, so
 * software-only under the local development policy) ends ENROLLED;
 * `holonctl machines` and `holonctl audit` on the same bus agree; SIGINT
 * stops every child and exits 0; a second `up` on the same dir finds the
 * same enrollment (same certificate serial, one MACHINE_ENROLLED entry).
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { connectBus } from '../../adapters/nats/connect.js';
import { inboxPrefixFromCreds } from '../../adapters/nats/credentials.js';
import { openLedgerReplay } from '../../adapters/nats/ledger-replay.js';
import { LedgerEntryV1 } from '../../bus-schemas/v1/ledger-entry.js';
import type { MachineRowV1 } from '../../bus-schemas/v1/machine-list.js';
import { holonctl, MAIN, makeTemp } from './init-helpers.js';
import { parsePromText, sampleValue } from '../metrics/prom-text.js';
import { packageVersion } from '../../adapters/release/package-version.js';

interface UpReport {
  dir: string;
  nats_url: string;
  creds: string;
  tpm: string | null;
  development_policy: boolean;
  machine_id: string;
  pids: Record<string, number>;
  /** each daemon's /metrics URL (docs/metrics.md) */
  metrics: { orchestrator: string | null; agent: string | null };
  machines: MachineRowV1[];
}

interface RunningUp {
  child: ChildProcess;
  report: UpReport;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start `holonctl up --json` and wait for its one JSON document. */
async function startUp(dir: string): Promise<RunningUp> {
  // The software-only path is the one under test: on a machine with a TPM, ask for it explicitly.
  const noTpm = existsSync('/dev/tpmrm0') ? ['--no-tpm'] : [];
  const child = spawn(process.execPath, [MAIN, 'up', '--dir', dir, '--json', ...noTpm], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  return { child, report, stderr: () => err, exited };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const { dir: tmp, remove } = makeTemp('holonet-up-');
t.teardown(remove);
const dir = join(tmp, 'cell');
const started: RunningUp[] = [];
// Never leave a fleet behind if an assertion throws half-way.
t.teardown(() => {
  for (const u of started) for (const pid of [u.child.pid, ...Object.values(u.report.pids)]) if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
});

let firstSerial: number | undefined;

void t.test('up: enrolls the local machine, agrees with machines and audit, stops cleanly on SIGINT', async (t) => {
  const up = await startUp(dir);
  started.push(up);
  const { report } = up;
  t.equal(report.tpm, null, 'no TPM on this machine');
  t.equal(report.development_policy, true, 'runs the local development policy');
  t.match(up.stderr(), /LOCAL DEVELOPMENT policy/, 'and says so');
  for (const step of ['nats-server ready', 'orchestrator ready', 'agent attested', 'approved', 'enrolled']) t.match(up.stderr(), step, `progress: ${step}`);
  const row = report.machines.find((m) => m.machine_id === report.machine_id);
  t.match(row, { state: 'ENROLLED', software_only: true, approval: { source: 'principal' } }, 'local machine ENROLLED, approved by the principal');
  firstSerial = row?.certificate_serial;
  t.type(firstSerial, 'number');
  const stateFile = JSON.parse(readFileSync(join(dir, 'agent/state.json'), 'utf8')) as { state: string; machine_id: string };
  t.match(stateFile, { state: 'ENROLLED', machine_id: report.machine_id }, 'the agent holds its enrollment');

  const bus = ['--server', report.nats_url, '--creds', report.creds, '--dir', dir];
  const m = holonctl(['machines', ...bus, '--json']);
  t.equal(m.status, 0, m.stderr);
  // Liveness moves with every heartbeat between the two reads: compared without it.
  const withoutLiveness = (rows: MachineRowV1[]): MachineRowV1[] => rows.map(({ liveness: _l, ...row }) => row);
  t.same(withoutLiveness((JSON.parse(m.stdout) as { machines: MachineRowV1[] }).machines), withoutLiveness(report.machines), 'holonctl machines agrees');
  const audit = holonctl(['audit', '--server', report.nats_url, '--creds', report.creds, '--json']);
  t.equal(audit.status, 0, `audit clean: ${audit.stdout.slice(0, 300)} ${audit.stderr}`);

  t.equal(Object.keys(report.pids).length, 3);
  for (const [name, pid] of Object.entries(report.pids)) t.ok(alive(pid), `${name} runs`);

  // Both daemons' /metrics: printed, in the report, served (a free loopback port each), and ready.
  t.match(report.metrics, { orchestrator: /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, agent: /^http:\/\/127\.0\.0\.1:\d+\/metrics$/ }, 'both /metrics URLs in the report');
  t.not(report.metrics.orchestrator, report.metrics.agent);
  t.match(up.stderr(), `holonctl up: metrics: orchestrator ${report.metrics.orchestrator ?? '-'}, agent ${report.metrics.agent ?? '-'}`, 'and printed');
  for (const [daemon, url] of [['holon-orchestrator', report.metrics.orchestrator], ['holon-agent', report.metrics.agent]] as const) {
    const page = await fetch(url ?? '');
    t.equal(page.status, 200, `${daemon} ${url ?? ''}`);
    t.equal(sampleValue(parsePromText(await page.text()), 'holonet_build_info', { daemon, version: packageVersion() }), 1, `${daemon} answers on its own URL`);
    t.equal((await fetch((url ?? '').replace(/metrics$/, 'readyz'))).status, 200, `${daemon} is ready`);
  }
  up.child.kill('SIGINT');
  const e = await up.exited;
  if (!t.same(e, { code: 0, signal: null }, 'exit 0 after SIGINT')) t.comment(up.stderr());
  for (const [name, pid] of Object.entries(report.pids)) t.notOk(alive(pid), `${name} (pid ${pid}) is gone`);
  const order = [...up.stderr().matchAll(/(holon-agent|holon-orchestrator|nats-server) stopped \(exit 0\)/g)].map((x) => x[1]);
  t.same(order, ['holon-agent', 'holon-orchestrator', 'nats-server'], 'stopped in order, each cleanly');
  await t.rejects(fetch(report.metrics.orchestrator ?? ''), 'the metrics endpoints went with the daemons');
});

void t.test('a second up on the same dir reuses the enrollment', async (t) => {
  const up = await startUp(dir);
  started.push(up);
  t.match(up.stderr(), `using ${dir}`, 'no second init');
  t.notMatch(up.stderr(), /approved/, 'nothing to approve');
  const rows = up.report.machines;
  t.equal(rows.length, 1, 'one machine');
  t.match(rows[0], { machine_id: up.report.machine_id, state: 'ENROLLED', certificate_serial: firstSerial }, 'same machine, same certificate serial');
  const audit = holonctl(['audit', '--server', up.report.nats_url, '--creds', up.report.creds, '--json']);
  t.equal(audit.status, 0, audit.stderr);
  // The admin identity replays the ledger (holonctl's own credential may not create consumers).
  const adminCreds = join(dir, 'nats/orchestrator-admin.creds');
  const inbox = inboxPrefixFromCreds(readFileSync(adminCreds, 'utf8'));
  const conn = await connectBus({ servers: up.report.nats_url, credsFile: adminCreds, reconnect: false, logger: pino({ level: 'silent' }), ...(inbox !== undefined ? { inboxPrefix: inbox } : {}) });
  const kinds: string[] = [];
  try {
    const replay = await openLedgerReplay(conn, {});
    for await (const r of replay.records) kinds.push(LedgerEntryV1.decode(r.data).kind);
  } finally {
    await conn.close();
  }
  t.equal(kinds.filter((k) => k === 'MACHINE_ENROLLED').length, 1, `enrolled exactly once in the ledger (${kinds.join(', ')})`);
  up.child.kill('SIGTERM');
  if (!t.same(await up.exited, { code: 0, signal: null }, 'exit 0 after SIGTERM')) t.comment(up.stderr());
  for (const pid of Object.values(up.report.pids)) t.notOk(alive(pid), `pid ${pid} is gone`);
});
