/**
 * Guarded jobs on a real Linux unit: `holonctl job run` runs a script only
 * when its SHA-256 matches; output streams back; exit status and the digests
 * of stdout/stderr become ledger evidence; a mismatch is refused, nothing
 * runs, and the refusal is recorded. A script swapped by the unit after the
 * check cannot run in place of the verified bytes (a root-owned copy runs).
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, chownSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openLedgerReplay } from '../../adapters/nats/ledger-replay.js';
import { LedgerEntryV1 } from '../../bus-schemas/v1/ledger-entry.js';
import { JobResultV1 } from '../../bus-schemas/v1/job.js';
import { ProvisionStatusV1 } from '../../bus-schemas/v1/unit-flow.js';
import { holonctl, makeTemp } from '../cli/init-helpers.js';
import { busOf, startUp, stopUp } from './up-fixture.js';

const { dir: tmp, remove } = makeTemp('holonet-job-');
t.teardown(remove);
const dir = join(tmp, 'cell');
const up = await startUp(dir);
t.teardown(() => stopUp(up));

const p = holonctl(['provision', '--role', 'BUILD_WORKER', ...up.bus, '--json']);
if (p.status !== 0) throw new Error(`provision failed: ${p.stderr}`);
const status = ProvisionStatusV1.parse(JSON.parse(p.stdout));
const holon = status.holon.holon_id as string;
const home = join(dir, 'agent/isolation/units', status.holon.unit_name as string, 'root/home/unit');

const SCRIPT = '#!/bin/sh\necho "built $1 on $(hostname)"\necho "warning: $1" >&2\nexit 3\n';
const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
writeFileSync(join(home, 'build.sh'), SCRIPT, { mode: 0o755 });
chownSync(join(home, 'build.sh'), statSync(home).uid, statSync(home).gid);

async function jobEntries(): Promise<LedgerEntryV1[]> {
  const conn = await busOf(up);
  try {
    const out: LedgerEntryV1[] = [];
    const replay = await openLedgerReplay(conn, { via: 'get' });
    for await (const r of replay.records) {
      const e = LedgerEntryV1.decode(r.data);
      if (e.kind.startsWith('JOB_')) out.push(e);
    }
    return out;
  } finally {
    await conn.close();
  }
}

void t.test('a matching hash runs; output streams back; exit status and digests are evidence', async (t) => {
  const r = holonctl(['job', 'run', holon, '--sha256', sha(SCRIPT), ...up.bus, '--', '/home/unit/build.sh', 'v1.2']);
  t.equal(r.status, 3, 'holonctl exits with the job’s exit status');
  t.equal(r.stdout, `built v1.2 on ${status.holon.unit_name as string}\n`, 'stdout streamed back (and ran inside the unit: its hostname)');
  t.match(r.stderr, 'warning: v1.2', 'stderr streamed back');
  t.match(r.stderr, /exit 3; ran sha256:[0-9a-f]{64}/, 'a summary');
  t.notMatch(r.stderr, /do not match/, 'the output received matches the sealed digests');

  const j = holonctl(['job', 'run', holon, '--sha256', sha(SCRIPT), ...up.bus, '--json', '--', '/home/unit/build.sh', 'v2']);
  const result = JSON.parse(j.stdout) as JobResultV1 & { output_received_complete: boolean };
  t.equal(result.outcome, 'EXITED');
  t.equal(result.exit_code, 3);
  t.equal(result.executable_sha256, sha(SCRIPT), 'the bytes that ran are the pinned ones');
  t.equal(result.stdout_sha256, sha(`built v2 on ${status.holon.unit_name as string}\n`), 'stdout digest');
  t.equal(result.stderr_sha256, sha('warning: v2\n'), 'stderr digest');
  t.equal(result.output_received_complete, true);
  const { output_received_complete: _, ...sealed } = result;
  JobResultV1.verify(JobResultV1.parse(sealed), status.holon.machine_id as `hkey1${string}`);

  const entries = await jobEntries();
  const results = entries.filter((e) => e.kind === 'JOB_RESULT').map((e) => e.body as Record<string, unknown>);
  t.equal(entries.filter((e) => e.kind === 'JOB_AUTHORIZED').length, 2, 'each job authorized in the holon’s ledger');
  t.match(results[1], { exit_code: 3, stdout_sha256: result.stdout_sha256, stderr_sha256: result.stderr_sha256, executable_sha256: sha(SCRIPT), result_digest: JobResultV1.digest(JobResultV1.parse(sealed)) }, 'the result is evidence');
  t.ok(entries.every((e) => e.owner === holon), 'on the holon’s own chain');
});

void t.test('a hash mismatch is refused, nothing runs, and the refusal is recorded', async (t) => {
  const marker = join(home, 'ran');
  writeFileSync(join(home, 'evil.sh'), '#!/bin/sh\ntouch /home/unit/ran\n', { mode: 0o755 });
  const r = holonctl(['job', 'run', holon, '--sha256', sha(SCRIPT), ...up.bus, '--', '/home/unit/evil.sh']);
  t.equal(r.status, 1);
  t.match(r.stderr, 'HOLON_E_JOB_HASH_MISMATCH', 'typed refusal');
  t.notOk(existsSync(marker), 'nothing ran');
  const refused = (await jobEntries()).filter((e) => e.kind === 'JOB_REFUSED');
  t.equal(refused.length, 1, 'recorded in the ledger');
  t.match(refused[0]?.body, { code: 'HOLON_E_JOB_HASH_MISMATCH', executable_sha256: sha(readFileSync(join(home, 'evil.sh'))) });
  t.match(holonctl(['job', 'run', holon, '--sha256', sha(SCRIPT), ...up.bus, '--', '/home/unit/missing.sh']).stderr, 'HOLON_E_JOB_EXECUTABLE', 'a missing executable is refused too');
  t.match(holonctl(['job', 'run', holon, '--sha256', sha(SCRIPT), ...up.bus, '--', 'build.sh']).stderr, /absolute path/, 'a relative executable is refused before anything is sent');
});

void t.test('the verified copy runs, not a file the unit can swap', async (t) => {
  const copies = join(dir, 'agent/isolation/units', status.holon.unit_name as string, 'root/holonet-jobs');
  t.ok(existsSync(copies), 'verified copies live outside the unit user’s home');
  const st = statSync(copies);
  t.equal(st.uid, 0, 'owned by root');
  t.equal(st.mode & 0o022, 0, 'not writable by the unit user');
});

void t.test('teardown removes the unit with its job copies', async (t) => {
  const r = holonctl(['teardown', holon, ...up.bus, '--json']);
  t.equal(r.status, 0, r.stderr);
  t.notOk(existsSync(join(dir, 'agent/isolation/units', status.holon.unit_name as string)), 'nothing left');
});
