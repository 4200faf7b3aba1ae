/**
 * A guarded job from the cell (DESIGN §6), as it arrives on
 * `holon.<host>.job`: verify the cell's seal and that it is for this machine
 * and a unit running here for that holon, run it (hash-pinned, job-runner.ts)
 * and answer with the machine-sealed JobResultV1, or with a sealed refusal.
 *
 * The subscription may answer only into the cell's inbox; a job whose reply
 * subject is anything else is not run at all (its answer could go nowhere
 * the cell reads, and its output would be work for a sender that is not the
 * cell).
 */
import type { Logger } from 'pino';
import type { Clock } from '../bus-schemas/clock.js';
import { HolonError } from '../bus-schemas/errors.js';
import { convertId, type CellIdV1, type HolonIdV1, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import type { Signer } from '../bus-schemas/keys.js';
import { holonSubject, JOB_OUTPUT_TOKEN } from '../bus-schemas/subjects.js';
import type { IsolationPort } from '../bus-schemas/units/port.js';
import { JobCommandV1, JobResultV1 } from '../bus-schemas/v1/job.js';
import { RefusalV1, sealRefusal } from '../bus-schemas/v1/refusal.js';
import { timeAt } from '../bus-schemas/v1/time-envelope.js';
import type { AgentBus, BusMessage } from './bus-port.js';
import { runGuardedJob } from './job-runner.js';
import { UnitCommandError, type UnitStates } from './unit-state.js';

export interface JobHandlerDeps {
  bus: AgentBus;
  isolation: IsolationPort;
  machine: { machineId: PublicKeyIdV1; signer: Signer };
  hostHolon: HolonIdV1;
  cellId: CellIdV1;
  clock: Clock;
  log: Logger;
  states: Pick<UnitStates, 'read'>;
  /** log a refusal of input within the budget for its kind (the unit manager's LogBudget) */
  refusalLog(kind: string, fields: object, msg: string): void;
}

const enc = new TextEncoder();

export async function handleJob(d: JobHandlerDeps, m: BusMessage): Promise<void> {
  const { log, machine } = d;
  const refuse = (e: unknown): void => {
    d.refusalLog(`job:${e instanceof HolonError ? e.code : 'internal'}`, { err: e instanceof HolonError ? e.toJSON() : String(e), reply_allowed: m.replyAllowed }, 'job refused');
    if (m.replyAllowed) m.respond(RefusalV1.encode(sealRefusal(e, { signer: machine.signer, at: timeAt(d.clock.now()) })));
  };
  // A job whose answer could go nowhere but the cell's inbox is not run at all.
  if (!m.replyAllowed) {
    refuse(new UnitCommandError("the reply subject is not the cell's inbox; job not run"));
    return;
  }
  let cmd: JobCommandV1;
  try {
    cmd = JobCommandV1.decode(m.data);
    JobCommandV1.verify(cmd, convertId(d.cellId, 'key'));
    if (cmd.machine_id !== machine.machineId) throw new UnitCommandError(`job for ${cmd.machine_id}, not this machine`);
    const s = await d.states.read(cmd.unit_name);
    if (s?.step !== 'DONE' || s.holon_id !== cmd.holon_id) throw new UnitCommandError(`no running unit ${cmd.unit_name} for ${cmd.holon_id} on this machine`);
  } catch (e) {
    refuse(e);
    return;
  }
  try {
    const output = holonSubject(d.hostHolon, JOB_OUTPUT_TOKEN, cmd.job_id);
    const result = await runGuardedJob(cmd, {
      isolation: d.isolation,
      machine,
      clock: d.clock,
      onOutput: (stream, seq, chunk) => d.bus.publish(output, enc.encode(JSON.stringify({ stream, seq, data: chunk.toString('base64') }))),
    });
    await d.bus.flush();
    log.info({ job_id: cmd.job_id, holon_id: cmd.holon_id, outcome: result.outcome, exit_code: result.exit_code, signal: result.signal, code: result.refusal?.code }, 'job finished');
    m.respond(JobResultV1.encode(result));
  } catch (e) {
    refuse(e);
  }
}
