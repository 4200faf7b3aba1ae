/**
 * `holonctl job run <holon> --sha256 <hash> -- cmd args…`: run a hash-pinned
 * command inside a unit. The output streams back while it runs (chunks on
 * holon.<host>.jobout.<job id>); at the end the machine-sealed JobResultV1
 * says what ran (its SHA-256), the exit status and the digests of stdout and
 * stderr — which holonctl checks against what it received — and the cell has
 * recorded all of it in the holon's ledger. Exit status: the job's own; 1 if
 * it was killed by a signal or timed out; a refusal (hash mismatch…) is
 * printed with its code and exits 1.
 */
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { convertId, type HolonIdV1 } from '../../bus-schemas/ids.js';
import { API_SUBJECTS, holonSubject, JOB_OUTPUT_TOKEN } from '../../bus-schemas/subjects.js';
import { jobIdOf, JobRequestV1, JobResultV1 } from '../../bus-schemas/v1/job.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { ProvisionStatusRequestV1, ProvisionStatusV1 } from '../../bus-schemas/v1/unit-flow.js';
import { BUS_OPTIONS } from '../bus-target.js';
import { CliFailure, EXIT_FAILURE, UsageError, writeLine, type CliIo, type Command } from '../command.js';
import type { CliPorts } from '../ports.js';
import { parseDuration } from './holon-requests.js';
import { busArgs, loadPrincipalContext, openCell } from './machines.js';

const HELP = `holonctl job run — run a hash-pinned command inside a unit

usage: holonctl job run <holon1…> --sha256 <hex> [--timeout 10m] [--json] -- <executable> [args…]

  --sha256 <hex>   SHA-256 of the executable or script (as the unit sees it);
                   anything else is refused and recorded, and nothing runs
  --timeout <dur>  kill the job after this long (default 10m)
  --server, --creds, --dir   as for holonctl machines
  --json           print the sealed JobResultV1 instead of streaming the output

<executable> is an absolute path inside the unit (e.g. /home/unit/build.sh,
/usr/bin/make). Its exit status becomes holonctl's.`;

async function runJob(args: string[], io: CliIo, ports: CliPorts): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, strict: true, allowPositionals: true, options: { ...BUS_OPTIONS, json: { type: 'boolean' }, sha256: { type: 'string' }, timeout: { type: 'string' } } });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals[0] !== 'run') throw new UsageError('usage: holonctl job run <holon1…> --sha256 <hex> -- <executable> [args…]');
  const holon = positionals[1];
  if (holon === undefined || !/^holon1[02-9ac-hj-np-z]{58}$/.test(holon)) throw new UsageError('give the holon id (holon1…) to run the job in');
  const argv = positionals.slice(2);
  if (argv.length === 0) throw new UsageError('give the command after --, e.g. -- /home/unit/build.sh');
  const sha256 = values.sha256?.toLowerCase();
  if (sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256)) throw new UsageError('--sha256 <64 hex digits> is required: the job runs only if the executable has this hash');
  const timeoutMs = parseDuration(values.timeout ?? '10m', 'timeout');
  const a = busArgs(values, io, ports);
  const ctx = await loadPrincipalContext(a.dir);
  const request = JobRequestV1.seal(
    { holon_id: holon as HolonIdV1, argv, sha256, timeout_ms: timeoutMs, request_nonce: randomBytes(32).toString('base64url'), requested_at: timeAt(Date.now()) },
    ctx.principal,
  );
  const jobId = jobIdOf(JobRequestV1.digest(request));
  const client = await openCell(ports, a, ctx);
  try {
    const status = await client.request({
      subject: API_SUBJECTS.provisionStatus,
      requestType: ProvisionStatusRequestV1,
      request: ProvisionStatusRequestV1.seal({ cell_id: ctx.cellId, holon_id: holon as HolonIdV1, request_nonce: randomBytes(32).toString('base64url'), sent_at: timeAt(Date.now()) }, ctx.principal),
      replyType: ProvisionStatusV1,
      responder: ctx.cellKey,
    });
    const machine = status.holon.machine_id;
    if (machine === null || status.holon.state !== 'RUNNING') throw new CliFailure(`holon ${holon} is ${status.holon.state}, not running: nothing was run`);
    const seen = { stdout: createHash('sha256'), stderr: createHash('sha256') };
    const sub = client.subscribe?.(holonSubject(convertId(machine, 'holon'), JOB_OUTPUT_TOKEN, jobId), (data) => {
      const c = JSON.parse(new TextDecoder().decode(data)) as { stream: 'stdout' | 'stderr'; data: string };
      const bytes = Buffer.from(c.data, 'base64');
      seen[c.stream].update(bytes);
      if (values.json !== true) (c.stream === 'stdout' ? io.stdout : io.stderr).write(bytes);
    });
    if (sub === undefined) throw new CliFailure('this holonctl build cannot subscribe to job output');
    await sub.ready;
    let result: JobResultV1;
    try {
      result = await client.request({ subject: API_SUBJECTS.jobRun, requestType: JobRequestV1, request, replyType: JobResultV1, timeoutMs: timeoutMs + 60_000 });
      JobResultV1.verify(result, machine);
      await sub.drain();
    } finally {
      sub.close();
    }
    const complete = seen.stdout.digest('hex') === result.stdout_sha256 && seen.stderr.digest('hex') === result.stderr_sha256;
    if (values.json === true) writeLine(io.stdout, JSON.stringify({ ...result, output_received_complete: complete }, null, 2));
    else {
      const how = result.timed_out ? `timed out (${result.signal ?? 'killed'})` : result.signal !== null ? `killed by ${result.signal}` : `exit ${String(result.exit_code)}`;
      writeLine(io.stderr, `holonctl: job ${jobId} ${how}; ran sha256:${result.executable_sha256 ?? '-'}; stdout ${result.stdout_bytes} bytes sha256:${result.stdout_sha256}, stderr ${result.stderr_bytes} bytes`);
      if (!complete) writeLine(io.stderr, 'holonctl: warning: the output received here does not match the digests the agent sealed (chunks were lost); the ledger holds the digests');
    }
    return result.exit_code ?? EXIT_FAILURE;
  } finally {
    await client.close();
  }
}

export const jobCommand: Command = { name: 'job', summary: 'run a hash-pinned command inside a unit (job run)', help: HELP, run: runJob };
