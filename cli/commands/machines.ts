/**
 * `holonctl machines`: ask the cell (api.machines.list, sealed by the
 * principal key from the `holonctl init` data dir) for its machines and show
 * them: state, software-only, EK trust, approval, refusal code and reason,
 * since when. The reply is verified as sealed by the cell of the data dir.
 * Also holds what `holonctl approve` shares with it: the principal, the cell
 * and the bus target.
 */
import { decodeKeyFile } from '../../bus-schemas/key-file.js';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HolonError } from '../../bus-schemas/errors.js';
import { convertId, encodeId, type CellIdV1, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { signerFromSeed, type Signer } from '../../bus-schemas/keys.js';
import { API_SUBJECTS, inboxPrefix } from '../../bus-schemas/subjects.js';
import { CellCertificateV1 } from '../../bus-schemas/v1/cell-certificate.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { MAX_MACHINES_PER_PAGE, MachineListRequestV1, MachineListV1, type MachineRowV1 } from '../../bus-schemas/v1/machine-list.js';
import { BUS_HELP, BUS_OPTIONS, resolveBusArgs, withConnectHint, type BusArgs } from '../bus-target.js';
import { CliFailure, EXIT_OK, UsageError, writeLine, type CliIo, type Command } from '../command.js';
import { ResponderMismatchError, type CellClient, type CellRequest, type CliPorts } from '../ports.js';

const HELP = `holonctl machines — list the machines of a cell and where they stand

usage: holonctl machines [--server <url>…] [--creds <file>] [--dir <data dir>] [--json]

${BUS_HELP}
                   The principal key of the data dir signs the request; its
                   cell certificate names the cell whose seal the answer
                   must carry.
  --json           print one JSON document on stdout

Columns: machine id, state (UNKNOWN CHALLENGED ATTESTED ENROLLED REFUSED),
software-only, EK trust (certificate / allow-list), approval, since when the
machine is in its state, when an enrolled machine was last heard from
(heartbeats, metering; UNREACHABLE when too long ago: no placements), and the
last refusal (code and reason).`;

/** The data dir does not hold what a principal command needs. */
export class PrincipalDirError extends HolonError {
  static readonly CODE = 'HOLON_E_PRINCIPAL_DIR';
  readonly path: string;
  constructor(path: string, reason: string) {
    super(PrincipalDirError.CODE, `${path}: ${reason}`);
    this.path = path;
  }
}

export interface PrincipalContext {
  principal: Signer;
  principalKey: PublicKeyIdV1;
  cellId: CellIdV1;
  /** the key the cell's answers must be sealed by */
  cellKey: PublicKeyIdV1;
}

/** The principal key and the cell certificate of a `holonctl init` data dir. */
export async function loadPrincipalContext(dir: string): Promise<PrincipalContext> {
  if (!(await stat(dir).then(() => true, () => false))) throw new PrincipalDirError(dir, 'no such data directory: pass --dir <path> (or set HOLONET_DIR), or create one with holonctl init or holonctl up');
  const keyPath = join(dir, 'keys/principal.key');
  const certPath = join(dir, 'cell-certificate.json');
  let principal: Signer;
  try {
    const k = decodeKeyFile(await readFile(keyPath, 'utf8'));
    if (!k.ok) throw new Error(k.reason);
    principal = signerFromSeed(k.seed);
  } catch (e) {
    throw new PrincipalDirError(keyPath, `cannot use the principal key (${e instanceof HolonError ? e.code : (e as Error).message})`);
  }
  const principalKey = encodeId('key', principal.publicKey);
  let cert: CellCertificateV1;
  try {
    cert = CellCertificateV1.decode((await readFile(certPath, 'utf8')).trim());
    CellCertificateV1.verify(cert, principalKey);
  } catch (e) {
    throw new PrincipalDirError(certPath, `not a cell certificate signed by ${principalKey} (${e instanceof HolonError ? e.message : (e as Error).message})`);
  }
  return { principal, principalKey, cellId: cert.cell_id, cellKey: convertId(cert.cell_id, 'key') };
}

/** `--server`, `--creds`, `--dir` with their environment variables and the data dir's defaults (cli/bus-target.ts). */
export function busArgs(values: { server?: string[]; creds?: string; dir?: string }, io: CliIo, ports: CliPorts): BusArgs {
  return resolveBusArgs(values, io.env, ports.files);
}

/** The server that answered is another cell's: its answers are sealed by that cell's key. */
export class ForeignCellError extends HolonError {
  static readonly CODE = 'HOLON_E_BUS_BAD_REPLY';
  readonly serverCell: CellIdV1;
  readonly dirCell: CellIdV1;
  constructor(servers: readonly string[], dir: string, serverCell: CellIdV1, dirCell: CellIdV1, options?: { cause?: unknown }) {
    super(
      ForeignCellError.CODE,
      `this server (${servers.join(',')}) belongs to cell ${serverCell}, not to the cell in ${dir} (${dirCell}): pass that cell's data dir with --dir, or this cell's server with --server`,
      options,
    );
    this.serverCell = serverCell;
    this.dirCell = dirCell;
  }
}

/**
 * A connection to the cell of the data dir, whose replies come back to the
 * principal's own inbox (the cell answers nowhere else). An answer sealed by
 * another cell's key becomes a ForeignCellError naming both cells.
 */
export async function openCell(ports: CliPorts, a: BusArgs, ctx: PrincipalContext): Promise<CellClient> {
  if (ports.openCellClient === undefined) throw new CliFailure('this holonctl build cannot reach a cell (no bus client)');
  let client: CellClient;
  try {
    client = await ports.openCellClient({ ...a.target, inboxPrefix: inboxPrefix(ctx.principalKey) });
  } catch (e) {
    throw withConnectHint(e, a);
  }
  const subscribe = client.subscribe?.bind(client);
  return {
    async request<Q, R>(opts: CellRequest<Q, R>): Promise<R> {
      try {
        return await client.request(opts);
      } catch (e) {
        if (e instanceof ResponderMismatchError && e.expected === ctx.cellKey) {
          throw new ForeignCellError(a.target.servers, a.dir, convertId(e.sealedBy, 'cell'), ctx.cellId, { cause: e });
        }
        throw e;
      }
    },
    ...(subscribe !== undefined ? { subscribe } : {}),
    close: () => client.close(),
  };
}

export async function listMachines(client: CellClient, ctx: PrincipalContext, now: () => number = Date.now): Promise<{ rows: MachineRowV1[]; total: number }> {
  const rows: MachineRowV1[] = [];
  let total = 0;
  for (let after: PublicKeyIdV1 | undefined; ; ) {
    const request = MachineListRequestV1.seal(
      { cell_id: ctx.cellId, ...(after !== undefined ? { after } : {}), limit: MAX_MACHINES_PER_PAGE, request_nonce: randomBytes(32).toString('base64url'), sent_at: timeAt(now()) },
      ctx.principal,
    );
    const page = await client.request({ subject: API_SUBJECTS.machines, requestType: MachineListRequestV1, request, replyType: MachineListV1, responder: ctx.cellKey });
    rows.push(...page.machines);
    total = page.total;
    const last = page.machines[page.machines.length - 1];
    if (!page.more || last === undefined) break;
    after = last.machine_id;
  }
  return { rows, total };
}

/** A machine's liveness as the table shows it: when last heard from, and whether that is too long ago. */
function lastSeen(r: MachineRowV1): string {
  if (r.liveness === undefined) return '-';
  const when = r.liveness.last_seen === null ? 'never since the cell started' : new Date(r.liveness.last_seen).toISOString();
  return r.liveness.reachable ? when : `${when} (UNREACHABLE)`;
}

export function formatRows(rows: readonly MachineRowV1[]): string[] {
  // The refusal goes last and is not padded: reasons are long.
  const head = ['MACHINE', 'STATE', 'SOFTWARE-ONLY', 'EK TRUST', 'APPROVAL', 'SINCE', 'LAST SEEN', 'REFUSAL'];
  const cells = rows.map((r) => [
    r.machine_id,
    r.state,
    r.software_only === null ? '-' : r.software_only ? 'yes' : 'no',
    r.ek_trusted_by ?? '-',
    r.approval ? `${r.approval.source}${r.approval.machine_class !== undefined ? `:${r.approval.machine_class}` : ''}` : '-',
    new Date(r.since).toISOString(),
    lastSeen(r),
    r.refusal ? `${r.refusal.code}: ${r.refusal.reason}` : '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]): string => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] as number))).join('  ');
  return [line(head), ...cells.map(line)];
}

async function runMachines(args: string[], io: CliIo, ports: CliPorts): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, strict: true, allowPositionals: false, options: { ...BUS_OPTIONS, json: { type: 'boolean' } } }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const a = busArgs(values, io, ports);
  const ctx = await loadPrincipalContext(a.dir);
  const client = await openCell(ports, a, ctx);
  try {
    const { rows, total } = await listMachines(client, ctx);
    if (values.json === true) writeLine(io.stdout, JSON.stringify({ cell_id: ctx.cellId, total, machines: rows }, null, 2));
    else {
      writeLine(io.stdout, `cell ${ctx.cellId}: ${total} machine${total === 1 ? '' : 's'}`);
      if (rows.length > 0) for (const l of formatRows(rows)) writeLine(io.stdout, l);
    }
  } finally {
    await client.close();
  }
  return EXIT_OK;
}

export const machinesCommand: Command = {
  name: 'machines',
  summary: 'list a cell’s machines: state, TPM trust, approval, refusals',
  help: HELP,
  run: runMachines,
};
