/**
 * holonctl's exit codes and messages with an in-memory cell (a fake
 * CellClient answering with objects sealed by the data dir's own cell key):
 * 2 only for a wrong command line; 1 for what the command runs into — a job
 * on a destroyed unit, a provision still PLACED when the wait gives up, a
 * refusal by the cell, an approval of a key id the cell does not list (and
 * then nothing is sent), a server of another cell. And `--version`.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { HolonError } from '../../bus-schemas/errors.js';
import { convertId, encodeId, type HolonIdV1, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { generateEd25519, type Signer } from '../../bus-schemas/keys.js';
import { API_SUBJECTS } from '../../bus-schemas/subjects.js';
import { MachineListV1, type MachineRowV1 } from '../../bus-schemas/v1/machine-list.js';
import { RefusedError, sealRefusal } from '../../bus-schemas/v1/refusal.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { ProvisionStatusV1, type HolonRowV1 } from '../../bus-schemas/v1/unit-flow.js';
import type { CliIo } from '../../cli/command.js';
import { ResponderMismatchError, type CellClient, type CellRequest } from '../../cli/ports.js';
import { runCli } from '../../cli/run.js';
import { holonctl, loadKey, makeTemp } from './init-helpers.js';

const { dir: tmp, remove } = makeTemp('holonet-exit-');
t.teardown(remove);
const dir = join(tmp, 'cell');
const init = holonctl(['init', '--dir', dir, '--tpm', 'optional']);
if (init.status !== 0) throw new Error(`holonctl init failed: ${init.stderr}`);
const cell = loadKey(join(dir, 'keys/cell.key'));
const principal = loadKey(join(dir, 'keys/principal.key'));
const cellId = convertId(cell.keyId, 'cell');
const BUS = ['--server', 'nats://127.0.0.1:4222', '--dir', dir];

const someKey = (): PublicKeyIdV1 => encodeId('key', generateEd25519().publicKey);
const machineId = someKey();
const holonId: HolonIdV1 = encodeId('holon', generateEd25519().publicKey);
const DIGEST: HolonRowV1['request_digest'] = `sha256:${'ab'.repeat(32)}`;

function machineList(rows: MachineRowV1[], signer: Signer = cell.signer): MachineListV1 {
  return MachineListV1.seal({ cell_id: cellId, machines: rows, more: false, total: rows.length, at: timeAt(Date.now()) }, signer);
}

function status(state: HolonRowV1['state']): ProvisionStatusV1 {
  const running = state !== 'AUTHORIZED';
  const holon: HolonRowV1 = {
    request_digest: DIGEST,
    state,
    role: 'BUILD_WORKER',
    requester: convertId(principal.keyId, 'holon'),
    machine_id: running ? machineId : null,
    unit_name: running ? 'u-0123456789' : null,
    tenant: null,
    holon_id: state === 'PLACED' ? null : holonId,
    since: Date.now(),
  };
  return ProvisionStatusV1.seal({ cell_id: cellId, holon, at: timeAt(Date.now()) }, cell.signer);
}

/** A cell in memory: one answer per subject; remembers what was asked. */
function fakeCell(answers: Partial<Record<string, () => unknown>>): { asked: string[]; client: CellClient } {
  const asked: string[] = [];
  return {
    asked,
    client: {
      request<Q, R>(opts: CellRequest<Q, R>): Promise<R> {
        asked.push(opts.subject);
        const answer = answers[opts.subject];
        if (answer === undefined) return Promise.reject(new Error(`unexpected request on ${opts.subject}`));
        try {
          return Promise.resolve(answer() as R);
        } catch (e) {
          return Promise.reject(e instanceof Error ? e : new Error(String(e)));
        }
      },
      subscribe: () => ({ ready: Promise.resolve(), drain: () => Promise.resolve(), close: () => undefined }),
      close: () => Promise.resolve(),
    },
  };
}

async function run(argv: string[], client?: CellClient, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (add: (s: string) => void): Writable => new Writable({ write: (c: Buffer, _e, done) => (add(c.toString('utf8')), done()) });
  const io: CliIo = { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env };
  const ports = {
    version: '9.8.7',
    openLedgerSource: () => Promise.reject(new Error('no ledger here')),
    ...(client !== undefined ? { openCellClient: () => Promise.resolve(client) } : {}),
  } as unknown as Parameters<typeof runCli>[2];
  const code = await runCli(argv, io, ports);
  return { code, stdout, stderr };
}

void t.test('usage errors exit 2, and only they', async (t) => {
  const r = await run(['job', 'run', holonId, '--sha256', 'xyz', ...BUS, '--', '/bin/true']);
  t.equal(r.code, 2);
  t.equal(r.stderr, 'holonctl job: --sha256 <64 hex digits> is required: the job runs only if the executable has this hash (see holonctl job --help)\n');
  t.equal((await run(['provision', ...BUS])).code, 2, 'provision without --role');
  t.equal((await run(['machines', '--bogus'])).code, 2, 'an unknown option');
  const none = await run(['machines'], undefined, { HOLONET_DIR: join(tmp, 'empty') });
  t.equal(none.code, 2, 'nothing says which server: a usage error');
  t.match(none.stderr, /^holonctl machines: no NATS server: pass --server <url> \(and --creds <file>\), or set HOLONET_SERVER/);
});

void t.test('a job on a destroyed unit exits 1, and nothing runs', async (t) => {
  const cellSide = fakeCell({ [API_SUBJECTS.provisionStatus]: () => status('DESTROYED') });
  const r = await run(['job', 'run', holonId, '--sha256', 'a'.repeat(64), ...BUS, '--', '/bin/true'], cellSide.client);
  t.equal(r.code, 1);
  t.equal(r.stderr, `holonctl job: holon ${holonId} is DESTROYED, not running: nothing was run\n`);
  t.same(cellSide.asked, [API_SUBJECTS.provisionStatus], 'no job request was sent');
});

void t.test('a provision still PLACED when the wait gives up exits 1', async (t) => {
  const cellSide = fakeCell({ [API_SUBJECTS.provision]: () => status('PLACED'), [API_SUBJECTS.provisionStatus]: () => status('PLACED') });
  const r = await run(['provision', '--role', 'BUILD_WORKER', '--timeout', '300ms', ...BUS], cellSide.client);
  t.equal(r.code, 1);
  t.match(r.stderr, `holonctl provision: gave up waiting after 300 ms: the unit is still PLACED; check again with holonctl show ${DIGEST}\n`);
});

void t.test('a refusal by the cell exits 1 with its code', async (t) => {
  const refusal = sealRefusal(new HolonError('HOLON_E_NO_PLACEMENT', 'no enrolled machine can take the unit'), { signer: cell.signer, at: timeAt(Date.now()) });
  const cellSide = fakeCell({ [API_SUBJECTS.provision]: () => { throw new RefusedError(refusal, API_SUBJECTS.provision); } });
  const r = await run(['provision', '--role', 'BUILD_WORKER', ...BUS], cellSide.client);
  t.equal(r.code, 1);
  t.match(r.stderr, /holonctl provision: api\.provision: refused \(HOLON_E_NO_PLACEMENT\): no enrolled machine can take the unit \[HOLON_E_NO_PLACEMENT\]\n$/);
});

void t.test('approve: only a machine the cell lists; anything else exits 1 and sends nothing', async (t) => {
  const listed: MachineRowV1 = { machine_id: machineId, state: 'ATTESTED', software_only: true, since: Date.now() };
  const stranger = someKey();
  const cellSide = fakeCell({
    [API_SUBJECTS.machines]: () => machineList([listed]),
    [API_SUBJECTS.approve]: () => machineList([{ ...listed, state: 'ENROLLED', approval: { source: 'principal', expires_at: Date.now() + 1000 } }]),
  });
  const r = await run(['approve', stranger, ...BUS], cellSide.client);
  t.equal(r.code, 1);
  t.equal(r.stderr, `holonctl approve: cell ${cellId} lists no machine ${stranger}; nothing was approved (holonctl machines lists the machines that have said hello; --before-hello approves an id ahead of its hello)\n`);
  t.same(cellSide.asked, [API_SUBJECTS.machines], 'only the list was asked for: no approval sent');

  // Meant: an id given out of band by the machine's installer, approved ahead of its first hello.
  const ahead = fakeCell({
    [API_SUBJECTS.machines]: () => machineList([]),
    [API_SUBJECTS.approve]: () => machineList([{ machine_id: stranger, state: 'UNKNOWN', software_only: null, since: Date.now() }]),
  });
  const a = await run(['approve', stranger, '--before-hello', ...BUS], ahead.client);
  t.equal(a.code, 0, `--before-hello: approved ahead of the hello (${a.stderr})`);
  t.same(ahead.asked, [API_SUBJECTS.machines, API_SUBJECTS.approve], 'the approval was sent');

  const phantom = fakeCell({ [API_SUBJECTS.machines]: () => machineList([{ machine_id: stranger, state: 'UNKNOWN', software_only: null, since: Date.now() }]) });
  const p = await run(['approve', stranger, ...BUS], phantom.client);
  t.equal(p.code, 1, 'a row left by an earlier approval of an unknown id is no machine either');
  t.match(p.stderr, `has only an earlier approval, no hello, from machine ${stranger}; nothing was approved`);
  t.same(phantom.asked, [API_SUBJECTS.machines]);

  cellSide.asked.length = 0;
  const ok = await run(['approve', machineId, ...BUS], cellSide.client);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, `approved ${machineId} for cell ${cellId}: now ENROLLED`);
  t.same(cellSide.asked, [API_SUBJECTS.machines, API_SUBJECTS.approve]);
});

void t.test('an answer sealed by another cell names both cells', async (t) => {
  const other = someKey();
  const cellSide = fakeCell({
    [API_SUBJECTS.machines]: () => {
      throw new ResponderMismatchError(API_SUBJECTS.machines, other, cell.keyId, `bus(nats): ${API_SUBJECTS.machines}: bad reply: …`);
    },
  });
  const r = await run(['machines', ...BUS], cellSide.client);
  t.equal(r.code, 1);
  t.equal(r.stderr, `holonctl machines: this server (nats://127.0.0.1:4222) belongs to cell ${convertId(other, 'cell')}, not to the cell in ${dir} (${cellId}): pass that cell's data dir with --dir, or this cell's server with --server [HOLON_E_BUS_BAD_REPLY]\n`);
});

void t.test('--version prints the package version', async (t) => {
  for (const flag of ['--version', '-V']) {
    const r = await run([flag]);
    t.equal(r.code, 0);
    t.equal(r.stdout, 'holonctl 9.8.7\n', 'the version the ports give');
  }
  const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const real = holonctl(['--version']);
  t.equal(real.status, 0);
  t.equal(real.stdout, `holonctl ${version}\n`, 'the built command reads package.json');
});
