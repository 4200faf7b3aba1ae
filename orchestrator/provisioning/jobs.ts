/**
 * Guarded jobs (DESIGN §6), the cell's half: authorize (the principal or the
 * holon's parent; the holon RUNNING; the request fresh), record
 * JOB_AUTHORIZED, have the agent run the hash-pinned command, record the
 * result (JOB_RESULT, JOB_REFUSED or JOB_FAILED) on the holon's chain.
 */
import type { Clock } from '../../bus-schemas/clock.js';
import { HolonError } from '../../bus-schemas/errors.js';
import type { HolonIdV1, PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import type { JsonValue } from '../../bus-schemas/json-value.js';
import type { Signer } from '../../bus-schemas/keys.js';
import { sameKey } from '../../bus-schemas/v1/holon-certificate.js';
import { JobCommandV1, JobRequestV1, JobResultV1, jobIdOf } from '../../bus-schemas/v1/job.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import type { CellIdV1 } from '../../bus-schemas/ids.js';
import { CLOCK_SKEW_MS } from './authorize.js';
import { ProvisionError } from './provision-errors.js';
import type { ProvisionStore } from './provision-store.js';

/** The agents, as the cell reaches them for jobs (core request/reply on holon.<host>.job). */
export interface AgentJobs {
  run(machineId: PublicKeyIdV1, command: JobCommandV1, timeoutMs: number): Promise<JobResultV1>;
}

/** A guarded job the agent refused (hash mismatch, unreadable executable): the agent's code and reason. */
export class JobRefusedError extends HolonError {
  readonly reason: string;
  constructor(code: string, reason: string) {
    super(code, `job: ${reason}`);
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, reason: this.reason };
  }
}

export interface JobDeps {
  store: Pick<ProvisionStore, 'byHolon'>;
  jobs: AgentJobs | undefined;
  /** append one entry to `owner`'s chain, serialized per owner */
  append(owner: HolonIdV1, kind: string, body: JsonValue): Promise<void>;
  cell: { cellId: CellIdV1; principalKey: string; signer: Signer };
  clock: Clock;
}

export async function runJob(req: JobRequestV1, d: JobDeps): Promise<JobResultV1> {
  if (d.jobs === undefined) throw new ProvisionError('not-ready', 'this cell runs no jobs', '.holon_id');
  const now = d.clock.now();
  const rec = d.store.byHolon(req.holon_id);
  if (rec === undefined) throw new ProvisionError('unknown-holon', `no holon ${req.holon_id} in this cell`, '.holon_id');
  const requester = req.requester_seal.key;
  if (!sameKey(requester, d.cell.principalKey) && !sameKey(requester, rec.requester)) {
    throw new ProvisionError('forbidden', `${requester} is neither the principal nor the parent of ${req.holon_id}`, '.requester_seal.key');
  }
  if (rec.state !== 'RUNNING' || rec.machineId === null || rec.unitName === null) throw new ProvisionError('not-ready', `holon ${req.holon_id} is ${rec.state}`, '.holon_id');
  if (Math.abs(req.requested_at.unix_ms - now) > CLOCK_SKEW_MS) throw new ProvisionError('expired', `requested ${now - req.requested_at.unix_ms} ms from now`, '.requested_at.unix_ms');
  const digest = JobRequestV1.digest(req);
  const jobId = jobIdOf(digest);
  const owner = req.holon_id;
  await d.append(owner, 'JOB_AUTHORIZED', { job_id: jobId, request_digest: digest, requester, argv0: req.argv[0] as string, argc: req.argv.length, sha256: req.sha256, timeout_ms: req.timeout_ms });
  const command = JobCommandV1.seal(
    { job_id: jobId, request_digest: digest, cell_id: d.cell.cellId, machine_id: rec.machineId, holon_id: req.holon_id, unit_name: rec.unitName, argv: req.argv, sha256: req.sha256, timeout_ms: req.timeout_ms, issued_at: timeAt(now) },
    d.cell.signer,
  );
  let result: JobResultV1;
  try {
    result = await d.jobs.run(rec.machineId, command, req.timeout_ms + 30_000);
  } catch (e) {
    const code = e instanceof HolonError ? e.code : 'HOLON_E_INTERNAL';
    await d.append(owner, 'JOB_FAILED', { job_id: jobId, code, reason: (e instanceof Error ? e.message : String(e)).slice(0, 512) });
    throw e;
  }
  const evidence = {
    job_id: jobId,
    result_digest: JobResultV1.digest(result),
    outcome: result.outcome,
    executable_sha256: result.executable_sha256,
    exit_code: result.exit_code,
    signal: result.signal,
    timed_out: result.timed_out,
    stdout_sha256: result.stdout_sha256,
    stderr_sha256: result.stderr_sha256,
    stdout_bytes: result.stdout_bytes,
    stderr_bytes: result.stderr_bytes,
  };
  if (result.outcome === 'REFUSED') {
    await d.append(owner, 'JOB_REFUSED', { ...evidence, code: result.refusal?.code ?? 'HOLON_E_JOB', reason: result.refusal?.reason ?? '' });
    throw new JobRefusedError(result.refusal?.code ?? 'HOLON_E_JOB', result.refusal?.reason ?? 'refused by the agent');
  }
  await d.append(owner, 'JOB_RESULT', evidence);
  return result;
}
