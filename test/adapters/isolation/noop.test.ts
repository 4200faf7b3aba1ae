/**
 * The noop adapter's exec() answers as a shell would in a unit whose only
 * files are the ones written into it: a missing program exits 127 with
 * dash's `not found` on stderr (it used to report 0), a file without an
 * execute bit 126, `cat` reads the unit's files. And what the agent makes of
 * it: a guarded job whose executable is missing is refused as on Linux
 * (test/provision/job.test.ts), one that is there runs its pinned copy.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { createNoopIsolation } from '../../../adapters/isolation/noop/index.js';
import { runGuardedJob, JOB_DIR } from '../../../agent/job-runner.js';
import type { ExecOptions } from '../../../bus-schemas/units/port.js';
import type { JobCommandV1 } from '../../../bus-schemas/v1/job.js';
import { jobCommand } from '../../bus-schemas/v1/job-samples.js';
import { keyId, SIGNERS, T0 } from '../../bus-schemas/v1/sample-keys.js';

const SPEC = { role: 'BUILD_WORKER' as const, limits: { cpuMillicores: 100, memoryBytes: 1 << 20, pids: 8 }, network: 'none' as const };
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** exec() with its output collected; `signal` and `timedOut` only when set. */
async function run(iso: ReturnType<typeof createNoopIsolation>, argv: string[], opts: ExecOptions = {}): Promise<Record<string, unknown>> {
  let stdout = '';
  let stderr = '';
  const r = await iso.exec('u1', argv, { ...opts, onStdout: (c) => (stdout += c.toString('utf8')), onStderr: (c) => (stderr += c.toString('utf8')) });
  return { exitCode: r.exitCode, stdout, stderr, ...(r.signal !== null ? { signal: r.signal } : {}), ...(r.timedOut ? { timedOut: true } : {}) };
}

void t.test('exec reports what sh would', async (t) => {
  const iso = createNoopIsolation();
  await iso.create({ name: 'u1', ...SPEC });
  await iso.writeFile('u1', { path: 'home/unit/build.sh', content: '#!/bin/sh\nexit 3\n', mode: 0o755, owner: 'unit' });
  await iso.writeFile('u1', { path: 'home/unit/notes.txt', content: 'hello\n', mode: 0o644, owner: 'unit' });

  t.same(await run(iso, ['/home/unit/missing.sh', 'v1']), { exitCode: 127, stdout: '', stderr: 'sh: 1: /home/unit/missing.sh: not found\n' }, 'a missing program: 127, not found');
  t.same(await run(iso, ['make', '-j4']), { exitCode: 127, stdout: '', stderr: 'sh: 1: make: not found\n' }, 'a name found nowhere in PATH: 127');
  t.same(await run(iso, ['build.sh'], { env: { PATH: '/home/unit' } }), { exitCode: 0, stdout: '', stderr: '' }, 'a name found in the given PATH runs (nothing)');
  t.same(await run(iso, ['./build.sh']), { exitCode: 0, stdout: '', stderr: '' }, 'a relative path from the default cwd, /home/unit');
  t.same(await run(iso, ['/home/unit/notes.txt']), { exitCode: 126, stdout: '', stderr: 'sh: 1: /home/unit/notes.txt: Permission denied\n' }, 'no execute bit: 126');
  t.same(await run(iso, ['/home/unit/build.sh']), { exitCode: 0, stdout: '', stderr: '' }, 'an executable that is there: 0 (noop runs nothing)');

  t.same(await run(iso, ['/bin/cat', '--', '/home/unit/notes.txt']), { exitCode: 0, stdout: 'hello\n', stderr: '' }, 'cat prints a file of the unit');
  t.same(await run(iso, ['cat', 'notes.txt', 'gone']), { exitCode: 1, stdout: 'hello\n', stderr: 'cat: gone: No such file or directory\n' }, 'cat through PATH, relative to cwd; a missing file is 1');

  t.same(await run(iso, ['/home/unit/missing.sh']), { exitCode: 127, stdout: '', stderr: 'sh: 1: /home/unit/missing.sh: not found\n' }, 'the same answer every time');
  await t.rejects(iso.exec('u1', []), { code: 'HOLON_E_ISOLATION_NOOP', message: 'isolation(noop): exec u1: argv[0] must be a non-empty string' }, 'an empty argv is refused');
  await t.rejects(iso.exec('nope', ['/bin/true']), { code: 'HOLON_E_ISOLATION_NOOP', message: 'isolation(noop): no unit nope' }, 'an unknown unit is refused');

  await iso.destroy('u1');
  await iso.create({ name: 'u1', ...SPEC });
  t.same(await run(iso, ['/home/unit/build.sh']), { exitCode: 127, stdout: '', stderr: 'sh: 1: /home/unit/build.sh: not found\n' }, 'destroy removed the unit\'s files');
});

void t.test('the agent\'s guarded job on the noop adapter', async (t) => {
  const script = '#!/bin/sh\necho built\nexit 3\n';
  const deps = (iso: ReturnType<typeof createNoopIsolation>, out: string[]) => ({
    isolation: iso,
    machine: { machineId: keyId(SIGNERS.machine), signer: SIGNERS.machine },
    clock: { now: () => T0 + 20 },
    onOutput: (stream: 'stdout' | 'stderr', _seq: number, chunk: Buffer) => void out.push(`${stream}:${chunk.toString('utf8')}`),
  });
  const cmd = jobCommand();
  t.equal(cmd.sha256, sha(script), 'the sample job pins this script');

  const iso = createNoopIsolation();
  await iso.create({ name: cmd.unit_name, ...SPEC });
  const out: string[] = [];
  const missing = await runGuardedJob(cmd, deps(iso, out));
  t.match(missing, {
    outcome: 'REFUSED',
    exit_code: null,
    executable_sha256: null,
    refusal: { code: 'HOLON_E_JOB_EXECUTABLE', reason: 'cannot read /home/unit/build.sh inside the unit: cat: /home/unit/build.sh: No such file or directory' },
  }, 'a missing executable is refused, as on Linux');
  // Before: noop's exec reported 0 for everything, so the empty output of `cat` hashed to sha256("") and a job pinned to it "ran" with exit 0.
  const pinnedEmpty: JobCommandV1 = { ...cmd, sha256: sha('') };
  t.match(await runGuardedJob(pinnedEmpty, deps(iso, out)), { outcome: 'REFUSED', exit_code: null, refusal: { code: 'HOLON_E_JOB_EXECUTABLE' } }, 'also when pinned to the hash of nothing');
  t.same(out, [], 'nothing streamed');
  t.same([...(iso.files.get(cmd.unit_name)?.keys() ?? [])], [], 'and no verified copy written');

  await iso.writeFile(cmd.unit_name, { path: 'home/unit/build.sh', content: script, mode: 0o755, owner: 'unit' });
  const ran = await runGuardedJob(cmd, deps(iso, out));
  t.match(ran, { outcome: 'EXITED', exit_code: 0, signal: null, timed_out: false, executable_sha256: sha(script), stdout_bytes: 0 }, 'an executable that is there: its pinned copy "runs" (exit 0, noop runs nothing)');
  t.ok(iso.files.get(cmd.unit_name)?.has(`${JOB_DIR}/${cmd.job_id}`), 'from the verified copy');
});
