/**
 * Deterministic samples of the guarded-job wire objects (job.ts): the
 * requester asks for `/home/unit/build.sh v1.2` in the sample child holon,
 * the cell hands it to the sample machine, which ran it (exit 3).
 */
import { createHash } from 'node:crypto';
import { JobCommandV1, JobRequestV1, JobResultV1, jobIdOf } from '../../../bus-schemas/v1/job.js';
import { timeAt } from '../../../bus-schemas/v1/time-envelope.js';
import { b64, cellId, holonId, keyId, SIGNERS, T0, testBytes } from './sample-keys.js';

const SCRIPT_SHA256 = createHash('sha256').update('#!/bin/sh\necho built\nexit 3\n').digest('hex');
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

export function jobRequest(): JobRequestV1 {
  return JobRequestV1.seal(
    { holon_id: holonId(SIGNERS.child), argv: ['/home/unit/build.sh', 'v1.2'], sha256: SCRIPT_SHA256, timeout_ms: 600_000, request_nonce: b64(testBytes('job-nonce')), requested_at: timeAt(T0) },
    SIGNERS.requester,
  );
}

const jobDigest = (): `sha256:${string}` => JobRequestV1.digest(jobRequest());

export function jobCommand(): JobCommandV1 {
  return JobCommandV1.seal(
    {
      job_id: jobIdOf(jobDigest()),
      request_digest: jobDigest(),
      cell_id: cellId(SIGNERS.cell),
      machine_id: keyId(SIGNERS.machine),
      holon_id: holonId(SIGNERS.child),
      unit_name: 'acme-ci',
      argv: ['/home/unit/build.sh', 'v1.2'],
      sha256: SCRIPT_SHA256,
      timeout_ms: 600_000,
      issued_at: timeAt(T0 + 10),
    },
    SIGNERS.cell,
  );
}

export function jobResult(): JobResultV1 {
  return JobResultV1.seal(
    {
      job_id: jobIdOf(jobDigest()),
      request_digest: jobDigest(),
      machine_id: keyId(SIGNERS.machine),
      holon_id: holonId(SIGNERS.child),
      outcome: 'EXITED',
      executable_sha256: SCRIPT_SHA256,
      exit_code: 3,
      signal: null,
      timed_out: false,
      stdout_sha256: sha('built\n'),
      stderr_sha256: sha(''),
      stdout_bytes: 6,
      stderr_bytes: 0,
      started_at: timeAt(T0 + 20),
      finished_at: timeAt(T0 + 520),
    },
    SIGNERS.machine,
  );
}
