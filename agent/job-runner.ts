/**
 * Guarded jobs inside a unit (DESIGN §6, the compute-substrate seed).
 *
 * The pinned hash covers exactly the bytes that run, with no window to swap
 * them: the agent reads argv[0] AS THE UNIT SEES IT (`cat` run inside the
 * unit as the unit user, so the unit's own mounts and permissions contain
 * the read), hashes those bytes, and on a match writes them to a root-owned,
 * read-only `/holonet-jobs/<job id>` in the unit and executes that copy.
 * On a mismatch nothing runs. Output streams back in chunks while the job
 * runs; stdout and stderr are hashed as they pass, and the digests, byte
 * counts and exit status go into the machine-sealed JobResultV1 that the
 * cell records in the ledger.
 *
 * A script's interpreter (its `#!` line) is not covered by the hash; pin the
 * interpreter itself if that matters.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../bus-schemas/clock.js';
import type { PublicKeyIdV1 } from '../bus-schemas/ids.js';
import type { Signer } from '../bus-schemas/keys.js';
import type { IsolationPort } from '../bus-schemas/units/port.js';
import { JobResultV1, type JobCommandV1 } from '../bus-schemas/v1/job.js';
import { timeAt } from '../bus-schemas/v1/time-envelope.js';

/** Largest executable or script a job may pin (read into memory to hash and copy). */
export const MAX_JOB_EXECUTABLE_BYTES = 64 * 1024 * 1024;
/** Where verified executables are placed, relative to the unit root. */
export const JOB_DIR = 'holonet-jobs';

export interface JobRunnerDeps {
  isolation: IsolationPort;
  machine: { machineId: PublicKeyIdV1; signer: Signer };
  clock: Clock;
  /** one output chunk, as it comes */
  onOutput(stream: 'stdout' | 'stderr', seq: number, chunk: Buffer): void;
}

const JOB_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/home/unit', LANG: 'C.UTF-8' };

export async function runGuardedJob(cmd: JobCommandV1, d: JobRunnerDeps): Promise<JobResultV1> {
  const started = d.clock.now();
  const out = createHash('sha256');
  const err = createHash('sha256');
  let outBytes = 0;
  let errBytes = 0;
  let seq = 0;
  const finish = (fields: Pick<JobResultV1, 'outcome' | 'executable_sha256' | 'exit_code' | 'signal' | 'timed_out'> & { refusal?: JobResultV1['refusal'] }): JobResultV1 =>
    JobResultV1.seal(
      {
        job_id: cmd.job_id,
        request_digest: cmd.request_digest,
        machine_id: d.machine.machineId,
        holon_id: cmd.holon_id,
        ...fields,
        stdout_sha256: out.digest('hex'),
        stderr_sha256: err.digest('hex'),
        stdout_bytes: outBytes,
        stderr_bytes: errBytes,
        started_at: timeAt(started),
        finished_at: timeAt(d.clock.now()),
      },
      d.machine.signer,
    );
  const refuse = (code: string, reason: string, executable: string | null): JobResultV1 =>
    finish({ outcome: 'REFUSED', executable_sha256: executable, exit_code: null, signal: null, timed_out: false, refusal: { code, reason: reason.slice(0, 512) } });

  // 1. Read argv[0] as the unit sees it, as the unit user.
  const exe = cmd.argv[0] as string;
  const chunks: Buffer[] = [];
  let size = 0;
  let readErr = '';
  const read = await d.isolation.exec(cmd.unit_name, ['/bin/cat', '--', exe], {
    env: JOB_ENV,
    timeoutMs: 60_000,
    onStdout: (c) => {
      size += c.length;
      if (size <= MAX_JOB_EXECUTABLE_BYTES) chunks.push(c);
    },
    onStderr: (c) => void (readErr += c.toString('utf8').slice(0, 512)),
  });
  if (read.exitCode !== 0) return refuse('HOLON_E_JOB_EXECUTABLE', `cannot read ${exe} inside the unit: ${readErr.trim() || `exit ${String(read.exitCode ?? read.signal)}`}`, null);
  if (size > MAX_JOB_EXECUTABLE_BYTES) return refuse('HOLON_E_JOB_EXECUTABLE', `${exe} is larger than ${MAX_JOB_EXECUTABLE_BYTES} bytes`, null);
  const bytes = Buffer.concat(chunks);
  const actual = createHash('sha256').update(bytes).digest('hex');

  // 2. The pin decides.
  if (actual !== cmd.sha256) return refuse('HOLON_E_JOB_HASH_MISMATCH', `sha256 of ${exe} is ${actual}, not the pinned ${cmd.sha256}`, actual);

  // 3. Run exactly those bytes: a root-owned, read-only copy the unit user cannot replace.
  const copy = `${JOB_DIR}/${cmd.job_id}`;
  await d.isolation.writeFile(cmd.unit_name, { path: copy, content: bytes, mode: 0o555, owner: 'root' });
  const r = await d.isolation.exec(cmd.unit_name, [`/${copy}`, ...cmd.argv.slice(1)], {
    env: JOB_ENV,
    timeoutMs: cmd.timeout_ms,
    onStdout: (c) => {
      out.update(c);
      outBytes += c.length;
      d.onOutput('stdout', seq++, c);
    },
    onStderr: (c) => {
      err.update(c);
      errBytes += c.length;
      d.onOutput('stderr', seq++, c);
    },
  });
  return finish({ outcome: 'EXITED', executable_sha256: actual, exit_code: r.exitCode, signal: r.signal, timed_out: r.timedOut });
}
