/**
 * `holonctl approve <machine-id>`: seal a MachineApprovalV1 with the
 * principal key (single-use nonce, expiry) for the cell of the data dir and
 * send it to api.machines.approve. An ATTESTED machine enrolls at once; one
 * not yet attested keeps the approval until it is (if it has not expired).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { PublicKeyIdSchema, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { API_SUBJECTS } from '../../bus-schemas/subjects.js';
import { MachineApprovalV1 } from '../../bus-schemas/v1/machine-approval.js';
import { MACHINE_CLASS_PATTERN } from '../../bus-schemas/v1/policy.js';
import { MachineListV1 } from '../../bus-schemas/v1/machine-list.js';
import { BUS_OPTIONS } from '../bus-target.js';
import { CliFailure, EXIT_OK, UsageError, writeLine, type CliIo, type Command } from '../command.js';
import type { CellClient, CliPorts } from '../ports.js';
import { busArgs, formatRows, listMachines, loadPrincipalContext, openCell, type PrincipalContext } from './machines.js';

const HELP = `holonctl approve — approve one machine for enrollment in a cell

usage: holonctl approve <machine-id> [--server <url>] [--creds <file>]
                        [--dir <data dir>] [--class <machine class>]
                        [--valid-for <hours>] [--before-hello] [--json]

  <machine-id>          the machine's hkey1… key id, as holonctl machines
                        lists it
  --class <class>       the machine class whose golden PCR values its quote
                        must match (a pcr_golden entry of the policy)
  --valid-for <hours>   how long the approval may wait for the machine's
                        attestation (default 24)
  --before-hello        approve a key id the cell has not heard from yet
                        (given to you out of band by the machine's installer);
                        it enrolls as soon as it attests
  --server, --creds, --dir, --json   as for holonctl machines

Only a machine the cell lists (it has said hello) is approved, unless
--before-hello says the id is meant; any other id is refused here, exit 1,
and nothing is sent. The approval is sealed by
keys/principal.key, names the cell of cell-certificate.json, and carries a
fresh single-use nonce. Prints the machine's row afterwards (ENROLLED if it
was attested).`;

const HOUR = 3_600_000;

async function runApprove(args: string[], io: CliIo, ports: CliPorts): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: { ...BUS_OPTIONS, class: { type: 'string' }, 'valid-for': { type: 'string' }, 'before-hello': { type: 'boolean' }, json: { type: 'boolean' } },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError('expected exactly one <machine-id>');
  let machineId: PublicKeyIdV1;
  try {
    machineId = PublicKeyIdSchema.parseAt(positionals[0], '<machine-id>');
  } catch {
    throw new UsageError(`<machine-id> ${JSON.stringify(positionals[0])}: expected an hkey1… machine key id`);
  }
  const cls = values.class;
  if (cls !== undefined && !(MACHINE_CLASS_PATTERN.test(cls) && cls.length <= 63)) throw new UsageError(`--class ${JSON.stringify(cls)}: expected a machine class label`);
  const hours = values['valid-for'] === undefined ? 24 : Number(values['valid-for']);
  if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 365) throw new UsageError(`--valid-for ${JSON.stringify(values['valid-for'])}: expected hours in (0, 8760]`);
  const a = busArgs(values, io, ports);
  const ctx = await loadPrincipalContext(a.dir);
  const client = await openCell(ports, a, ctx);
  try {
    // The cell records an approval for any key id (a row in state UNKNOWN): approve only a machine that has said
    // hello, unless the operator says the id is meant (an approval ahead of the machine's first hello).
    const ahead = values['before-hello'] === true;
    const { rows } = await listMachines(client, ctx);
    const known = rows.find((r) => r.machine_id === machineId);
    if (!ahead && (known === undefined || known.state === 'UNKNOWN')) {
      const why = known === undefined ? 'lists no machine' : 'has only an earlier approval, no hello, from machine';
      throw new CliFailure(`cell ${ctx.cellId} ${why} ${machineId}; nothing was approved (holonctl machines lists the machines that have said hello; --before-hello approves an id ahead of its hello)`);
    }
    return await sendApproval(client, io, ctx, machineId, cls, hours, values.json === true, ahead);
  } finally {
    await client.close();
  }
}

async function sendApproval(client: CellClient, io: CliIo, ctx: PrincipalContext, machineId: PublicKeyIdV1, cls: string | undefined, hours: number, json: boolean, ahead: boolean): Promise<number> {
  const now = Date.now();
  const approval = MachineApprovalV1.seal(
    {
      machine_id: machineId,
      cell_id: ctx.cellId,
      ...(cls !== undefined ? { machine_class: cls } : {}),
      approval_nonce: randomBytes(32).toString('base64url'),
      approved_at: now,
      expires_at: now + Math.round(hours * HOUR),
    },
    ctx.principal,
  );
  const reply = await client.request({ subject: API_SUBJECTS.approve, requestType: MachineApprovalV1, request: approval, replyType: MachineListV1, responder: ctx.cellKey });
  const row = reply.machines.find((r) => r.machine_id === machineId);
  if (json) writeLine(io.stdout, JSON.stringify({ cell_id: ctx.cellId, machines: reply.machines }, null, 2));
  else {
    writeLine(io.stdout, `approved ${machineId} for cell ${ctx.cellId}${row ? `: now ${row.state}` : ''}`);
    for (const l of formatRows(reply.machines)) writeLine(io.stdout, l);
  }
  if (ahead && row?.state === 'UNKNOWN') return EXIT_OK; // approved ahead of its hello, as asked
  if (row === undefined || row.state === 'UNKNOWN') throw new CliFailure(`cell ${ctx.cellId} does not know machine ${machineId} (${row === undefined ? 'not in its answer' : 'state UNKNOWN'})`);
  return EXIT_OK;
}

export const approveCommand: Command = {
  name: 'approve',
  summary: 'approve a machine for enrollment (principal-signed, single use)',
  help: HELP,
  run: runApprove,
};
