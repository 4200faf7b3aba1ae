/**
 * holonctl against buses that are not what it expects, as real processes:
 * a server that accepts TCP and never speaks NATS (holonctl exits promptly
 * with the timeout; the adapter hangs up the socket it gave up on); a real
 * nats-server where another cell answers (the message names both cells).
 * And the log lines of the bus adapter carry each key once, read with the
 * strict JSON parser that refuses duplicate keys.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { natsAgentBus } from '../../adapters/nats/agent-bus.js';
import { connectBus } from '../../adapters/nats/connect.js';
import { serve } from '../../adapters/nats/request-reply.js';
import { systemClock } from '../../bus-schemas/clock.js';
import { HolonError } from '../../bus-schemas/errors.js';
import { convertId, encodeId } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed } from '../../bus-schemas/keys.js';
import { API_SUBJECTS } from '../../bus-schemas/subjects.js';
import { MachineListRequestV1, MachineListV1 } from '../../bus-schemas/v1/machine-list.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { HolonListRequestV1, HolonListV1 } from '../../bus-schemas/v1/unit-flow.js';
import { decodeJson } from '../../bus-schemas/wire.js';
import { startNatsServer } from '../harness/nats-server.js';
import { holonctl, loadKey, MAIN, makeTemp } from './init-helpers.js';

const { dir: tmp, remove } = makeTemp('holonet-busfail-');
t.teardown(remove);
const dir = join(tmp, 'cell');
const init = holonctl(['init', '--dir', dir, '--tpm', 'optional']);
if (init.status !== 0) throw new Error(`holonctl init failed: ${init.stderr}`);
const ourCell = convertId(loadKey(join(dir, 'keys/cell.key')).keyId, 'cell');

/** holonctl as a child process; killed (and reported as such) if still running after `limitMs`. */
function runHolonctl(args: string[], env: NodeJS.ProcessEnv = {}, limitMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number; killed: boolean }> {
  const started = Date.now();
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, limitMs);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started, killed });
    }),
  );
}

/** Every line is one JSON object with no key twice (decodeJson refuses duplicates). */
function strictLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => decodeJson(l, 'log line', 1 << 20) as Record<string, unknown>);
}

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write: (c: Buffer, _e, done) => ((text += c.toString('utf8')), done()) }), text: () => text };
}

void t.test('a server that accepts TCP and never speaks NATS: a clear error, exit 1, promptly', async (t) => {
  const accepted: Socket[] = [];
  const silent = createServer((s) => {
    accepted.push(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of accepted) s.destroy();
    silent.close();
  });
  const url = `nats://127.0.0.1:${(silent.address() as { port: number }).port}`;

  const r = await runHolonctl(['machines', '--server', url, '--dir', dir]);
  t.notOk(r.killed, `holonctl exited by itself (after ${r.ms} ms)`);
  t.equal(r.code, 1);
  t.equal(r.stderr, `holonctl machines: bus(nats): cannot connect: timeout [${url}] [HOLON_E_BUS_CONNECT]\n`);
  t.ok(r.ms < 9000, `within the 5 s connect timeout and a little (${r.ms} ms)`);

  // The adapter itself hangs up the socket nats.js gave up on: the server sees the client go.
  const before = accepted.length;
  const err = await connectBus({ servers: url, reconnect: false, timeoutMs: 300, logger: pino({ level: 'silent' }) }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  t.match(err?.message, /cannot connect: timeout/);
  t.equal(accepted.length, before + 1, 'one connection was made');
  const last = accepted[accepted.length - 1] as Socket;
  const closed = await Promise.race([new Promise<boolean>((r) => (last.closed ? r(true) : last.once('close', () => r(true)))), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]);
  t.ok(closed, 'the client closed its socket after the timeout');
});

void t.test('another cell’s server: the error names both cells', async (t) => {
  const server = await startNatsServer();
  t.teardown(() => server.stop());
  const other = signerFromSeed(generateEd25519().seed);
  const otherCell = encodeId('cell', other.publicKey);
  const conn = await connectBus({ servers: server.url, name: 'cell B', logger: pino({ level: 'silent' }), jetstream: false });
  t.teardown(() => conn.close());
  // Cell B refuses a list for another cell (a signed refusal), and answers a unit list with its own sealed page.
  await serve(conn, {
    subject: API_SUBJECTS.machines,
    requestType: MachineListRequestV1,
    replyType: MachineListV1,
    signer: other,
    clock: systemClock,
    handler: (req) => {
      throw new HolonError('HOLON_E_MALFORMED', `cell_id ${req.cell_id} is not this cell`);
    },
  });
  await serve(conn, {
    subject: API_SUBJECTS.holons,
    requestType: HolonListRequestV1,
    replyType: HolonListV1,
    signer: other,
    clock: systemClock,
    handler: () => HolonListV1.seal({ cell_id: otherCell, holons: [], more: false, at: timeAt(Date.now()) }, other),
  });
  await conn.nc.flush();

  const expected = (cmd: string): string =>
    `holonctl ${cmd}: this server (${server.url}) belongs to cell ${otherCell}, not to the cell in ${dir} (${ourCell}): pass that cell's data dir with --dir, or this cell's server with --server [HOLON_E_BUS_BAD_REPLY]\n`;
  const refused = await runHolonctl(['machines', '--server', server.url, '--dir', dir]);
  t.equal(refused.code, 1);
  t.equal(refused.stderr, expected('machines'), 'a refusal sealed by the other cell');
  const answered = await runHolonctl(['holons'], { HOLONET_SERVER: server.url, HOLONET_DIR: dir });
  t.equal(answered.code, 1);
  t.equal(answered.stderr, expected('holons'), 'an answer sealed by the other cell');
});

void t.test('bus log lines carry each key once', async (t) => {
  const server = await startNatsServer();
  t.teardown(() => server.stop());

  // holonctl's own: pino `name` holonctl, the adapter's component.
  const r = await runHolonctl(['audit', '--server', server.url], { HOLONET_LOG_LEVEL: 'info' });
  const lines = strictLines(r.stderr.split('\n').filter((l) => l.startsWith('{')).join('\n'));
  const connected = lines.find((l) => l.msg === 'connected');
  t.match(connected, { name: 'holonctl', component: 'bus(nats)', connection: 'holonctl', servers: [server.url] }, 'holonctl’s connected line');

  // The orchestrator's way: a parent that already binds component and connection.
  const out = capture();
  const orchestratorLog: Logger = pino({ name: 'holon-orchestrator', level: 'info' }, out.stream).child({ component: 'bus(nats)', connection: 'holon-orchestrator-admin' });
  const conn = await connectBus({ servers: server.url, name: 'holon-orchestrator-admin cell1', logger: orchestratorLog });
  await conn.close();
  const [line] = strictLines(out.text());
  t.match(line, { name: 'holon-orchestrator', component: 'bus(nats)', connection: 'holon-orchestrator-admin', msg: 'connected' }, 'no key twice under a parent that binds them');

  // The agent's bus, under a root logger and under one that binds a component already.
  for (const parent of [{ name: 'holon-agent' }, { name: 'holon-agent', component: 'agent' }]) {
    const agentOut = capture();
    const { name, ...bindings } = parent;
    const root = pino({ name, level: 'info' }, agentOut.stream);
    const log = Object.keys(bindings).length === 0 ? root : root.child(bindings);
    const bus = await natsAgentBus({ servers: [server.url], connectTimeoutMs: 5000 }, log).connect({ name: 'holon-agent test', inboxPrefix: '_INBOX.test' });
    await bus.close();
    const [agentLine] = strictLines(agentOut.text());
    t.match(agentLine, { name: 'holon-agent', connection: 'holon-agent test', msg: 'connected' }, `agent bus line (${JSON.stringify(parent)})`);
  }
});
