/**
 * `holonctl up`: the embedded local fleet. Initialise the data dir if it is
 * not yet (`holonctl init`), start a local operator-mode nats-server with
 * JetStream, declare the streams, start holon-orchestrator and holon-agent as
 * children, enroll this machine — `up` holds the principal key, so it
 * approves it exactly as `holonctl approve` does — print the fleet, and keep
 * running until SIGINT/SIGTERM, which stops agent, orchestrator and
 * nats-server in that order. A second `up` on the same dir reuses it all.
 */
import { adminGrant, ledgerWriterGrant, operatorGrant, orchestratorServeGrant } from '../../bus-schemas/grants.js';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PolicyV1 } from '../../bus-schemas/v1/policy.js';
import type { MachineRowV1 } from '../../bus-schemas/v1/machine-list.js';
import { inboxPrefix } from '../../bus-schemas/subjects.js';
import { CONTEXT_FILE, parseBusContext, renderBusContext, resolveDir, type BusArgs, type BusContext } from '../bus-target.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, writeLine, type CliIo, type Command } from '../command.js';
import type { CellClient, CliPorts } from '../ports.js';
import { approveCommand } from './approve.js';
import { initDataDir, InitExistsError, type InitPorts } from './init.js';
import { formatRows, listMachines, loadPrincipalContext, openCell, type PrincipalContext } from './machines.js';
import { findLogLine, findNatsServerBinary, metricsUrlOf, spawnLogged, startNatsServer, UpError, waitUntil, type Child } from './up-children.js';
import { ensureCreds, ensureLocalPolicy, UP_FILES, writeDaemonConfigs, type UpPorts } from './up-files.js';

export type { UpPorts } from './up-files.js';

const HELP = `holonctl up — run a local cell with this machine enrolled

usage: holonctl up [--dir <data dir>] [--tcti <tcti> | --no-tpm] [--isolation linux|noop] [--overcommit N] [--json]

  --dir <path>    data directory (default $HOLONET_DIR, else ./.holonet);
                  initialised with holonctl init when it is not yet
  --tcti <tcti>   the TPM to attest with (default device:/dev/tpmrm0 when
                  that device exists and is usable)
  --no-tpm        attest software-only even if a TPM is present
  --isolation     how the agent isolates units: linux (namespaces + cgroups,
                  the default; needs root) or noop (nothing is isolated:
                  control-plane benchmarks and tests only)
  --overcommit N  let placement fill this machine to N times its measured
                  memory and unit count (default 1; the control-plane
                  benchmark runs --isolation noop --overcommit 500)
  --json          print one JSON document on stdout once enrolled

Starts nats-server (needs \`apt-get install nats-server\`) on a free
127.0.0.1 port with JetStream under <dir>/nats/store and init's operator-mode
auth.conf, holon-orchestrator and holon-agent (logs in <dir>/logs/; each
serves /metrics, /healthz and /readyz on a free 127.0.0.1 port, printed once
enrolled and in --json as "metrics"). Without
a TPM the cell runs a LOCAL DEVELOPMENT policy (tpm: optional, sealed by the
principal key, policy-local-dev.json) — never use it for a real cell. With a
TPM it pre-approves this machine's EK (policy-local-tpm.json). This machine
is approved with the principal key (as holonctl approve does) and enrolled
once; a later up on the same dir reuses the enrollment. Runs until Ctrl-C or
SIGTERM: stops the agent, the orchestrator, then nats-server; exit 0.

While it runs, <dir>/up/context.json records the server and holonctl's
credential (the fields of a nats CLI context: url, creds, inbox_prefix), so
the other commands need no flags: holonctl machines in the same directory
(or with --dir <dir> / HOLONET_DIR=<dir> anywhere).`;

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const READY_MS = 60_000;
const STOP_GRACE_MS = 15_000;

interface UpArgs {
  dir: string;
  tcti: string | undefined;
  noTpm: boolean;
  json: boolean;
  isolation: 'linux' | 'noop';
  overcommit: number;
}

function parseUpArgs(args: string[], env: NodeJS.ProcessEnv): UpArgs {
  let values;
  try {
    ({ values } = parseArgs({ args, strict: true, allowPositionals: false, options: { dir: { type: 'string' }, tcti: { type: 'string' }, 'no-tpm': { type: 'boolean' }, json: { type: 'boolean' }, isolation: { type: 'string' }, overcommit: { type: 'string' } } }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.tcti !== undefined && values['no-tpm'] === true) throw new UsageError('--tcti and --no-tpm exclude each other');
  const isolation = values.isolation ?? 'linux';
  if (isolation !== 'linux' && isolation !== 'noop') throw new UsageError(`--isolation must be linux or noop, not ${JSON.stringify(isolation)}`);
  const overcommit = Number(values.overcommit ?? '1');
  if (!Number.isInteger(overcommit) || overcommit < 1 || overcommit > 1000) throw new UsageError(`--overcommit must be an integer from 1 to 1000, not ${JSON.stringify(values.overcommit)}`);
  return { dir: resolveDir(values.dir, env).dir, tcti: values.tcti, noTpm: values['no-tpm'] === true, json: values.json === true, isolation, overcommit };
}

/** The TPM to use, or why none: /dev/tpmrm0 when present and read-writable. */
function chooseTpm(a: UpArgs): { tcti: string | undefined; why: string } {
  if (a.noTpm) return { tcti: undefined, why: '--no-tpm' };
  if (a.tcti !== undefined) return { tcti: a.tcti, why: '--tcti' };
  if (!existsSync('/dev/tpmrm0')) return { tcti: undefined, why: 'no /dev/tpmrm0 on this machine' };
  try {
    accessSync('/dev/tpmrm0', constants.R_OK | constants.W_OK);
    return { tcti: 'device:/dev/tpmrm0', why: '/dev/tpmrm0' };
  } catch {
    return { tcti: undefined, why: '/dev/tpmrm0 exists but this user cannot open it (add it to the tss group)' };
  }
}

/** Record the running local cell for the other commands (cli/bus-target.ts); returns the file. */
export function recordContext(dir: string, context: BusContext): string {
  const file = join(dir, CONTEXT_FILE);
  writeFileSync(file, renderBusContext(context), { mode: 0o600 });
  return file;
}

/** Remove the context file if it still names `url` (a later up on the same dir may have replaced it). */
export function forgetContext(dir: string, url: string): void {
  const file = join(dir, CONTEXT_FILE);
  try {
    if (parseBusContext(readFileSync(file, 'utf8'), file, dir).url === url) rmSync(file, { force: true });
  } catch {
    // gone already, or unreadable: the next reader reports it
  }
}

/** How to run this holonctl from another terminal: `holonctl` when the first one on PATH is this build, else node and its path. */
export function holonctlCommand(env: NodeJS.ProcessEnv): string {
  const self = join(DIST, 'cli/main.js');
  for (const d of (env.PATH ?? '').split(delimiter)) {
    if (d === '') continue;
    const onPath = join(d, 'holonctl');
    try {
      accessSync(onPath, constants.X_OK);
    } catch {
      continue;
    }
    try {
      return realpathSync(onPath) === realpathSync(self) ? 'holonctl' : `node ${self}`;
    } catch {
      return `node ${self}`;
    }
  }
  return `node ${self}`;
}

/** Captures a command's stdout (approve, machines) so up decides what to print. */
function captureIo(io: CliIo): { io: CliIo; text: () => string } {
  let buf = '';
  const stdout = { write: (c: string | Uint8Array) => ((buf += typeof c === 'string' ? c : Buffer.from(c).toString('utf8')), true) } as unknown as NodeJS.WritableStream;
  return { io: { stdout, stderr: io.stderr, env: io.env }, text: () => buf };
}

function agentMachineId(agentDir: string): string | undefined {
  try {
    const k = JSON.parse(readFileSync(join(agentDir, 'machine.key'), 'utf8')) as { key_id?: string };
    return k.key_id;
  } catch {
    return undefined;
  }
}

function agentState(agentDir: string): { state?: string; refusal?: { code?: string; reason?: string } } {
  try {
    return JSON.parse(readFileSync(join(agentDir, 'state.json'), 'utf8')) as { state?: string };
  } catch {
    return {};
  }
}

async function rowOf(client: CellClient, ctx: PrincipalContext, machineId: string): Promise<{ row: MachineRowV1 | undefined; rows: MachineRowV1[] }> {
  const { rows } = await listMachines(client, ctx);
  return { row: rows.find((r) => r.machine_id === machineId), rows };
}

/** Resolves with the signal that asked up to stop, or the child that died. */
function stopRequested(children: readonly Child[]): { wait: Promise<string>; dispose: () => void } {
  let onSignal: (s: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<string>((res) => (onSignal = (s) => res(s)));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const died = children.map((c) => c.exited.then((e) => `${c.name} exited (${e.signal ?? `code ${String(e.code)}`}); see ${c.logFile}`));
  return {
    wait: Promise.race([signalled, ...died]),
    dispose: () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}

async function runUp(args: string[], io: CliIo, ports: CliPorts & InitPorts & Partial<UpPorts>): Promise<number> {
  const a = parseUpArgs(args, io.env);
  const { mintCellUser, declareStreams } = ports;
  if (mintCellUser === undefined || declareStreams === undefined) throw new UpError('setup', 'this holonctl build cannot run a local cell (no NATS credential or stream port)');
  const say = (line: string): void => writeLine(io.stderr, `holonctl up: ${line}`);
  const natsBin = findNatsServerBinary(io.env);

  try {
    const r = await initDataDir({ dir: a.dir, cellName: undefined, tpm: 'required', json: false }, ports);
    say(`initialised ${r.dir} (cell ${r.cell_id}, principal key ${r.principal_key})`);
  } catch (e) {
    if (!(e instanceof InitExistsError)) throw e;
    say(`using ${a.dir}`);
  }
  const ctx = await loadPrincipalContext(a.dir);
  for (const d of [UP_FILES.logs, 'up', UP_FILES.agentDir, 'secrets']) mkdirSync(join(a.dir, d), { recursive: true, mode: 0o700 });
  const seeds = { account: readFileSync(join(a.dir, 'nats/account.nk'), 'utf8').trim(), accountSigning: readFileSync(join(a.dir, 'nats/account-signing.nk'), 'utf8').trim() };
  // Least privilege, one identity per job (bus-schemas/grants, docs/security.md).
  const orchestratorCreds = await ensureCreds(a.dir, UP_FILES.orchestratorCreds, () => mintCellUser(seeds, orchestratorServeGrant(ctx.cellId)), ports);
  const writerCreds = await ensureCreds(a.dir, UP_FILES.writerCreds, () => mintCellUser(seeds, ledgerWriterGrant(ctx.cellId)), ports);
  const adminCreds = await ensureCreds(a.dir, UP_FILES.adminCreds, () => mintCellUser(seeds, adminGrant(ctx.cellId)), ports);
  const operatorCreds = await ensureCreds(a.dir, UP_FILES.operatorCreds, () => mintCellUser(seeds, operatorGrant(ctx.principalKey)), ports);

  const tpm = chooseTpm(a);
  let ekSha256: string | undefined;
  if (tpm.tcti !== undefined) {
    if (ports.readEk === undefined) throw new UpError('tpm', 'this holonctl build cannot read a TPM');
    ekSha256 = (await ports.readEk(tpm.tcti, join(a.dir, UP_FILES.agentDir, 'tpm'))).ekSha256.replace(/^sha256:/, '');
    say(`using the TPM at ${tpm.tcti}; its EK sha256:${ekSha256} is pre-approved by the local policy`);
  }
  const policyFile = await ensureLocalPolicy(a.dir, ctx, ekSha256);
  const policy = PolicyV1.decode(readFileSync(policyFile, 'utf8').trim());
  if (ekSha256 === undefined) say(`no TPM (${tpm.why}): using a LOCAL DEVELOPMENT policy that allows software-only machines (tpm: optional, signed by the principal key): ${policyFile}`);

  const children: Child[] = [];
  const stopAll = async (): Promise<boolean> => {
    let clean = true;
    for (const c of [...children].reverse()) {
      const e = await c.stop(STOP_GRACE_MS);
      clean &&= e.code === 0;
      say(`${c.name} stopped (${e.signal ?? `exit ${String(e.code)}`})`);
    }
    return clean;
  };
  const killOnExit = (): void => {
    for (const c of children) if (c.running()) process.kill(c.pid, 'SIGKILL');
  };
  process.once('exit', killOnExit);
  let client: CellClient | undefined;
  let contextUrl: string | undefined;
  try {
    const logs = join(a.dir, UP_FILES.logs);
    const nats = await startNatsServer({ bin: natsBin, configFile: join(a.dir, 'nats/auth.conf'), storeDir: join(a.dir, UP_FILES.natsStore), portsDir: join(a.dir, 'nats'), logFile: join(logs, 'nats-server.log'), readyMs: READY_MS });
    children.push(nats.child);
    say(`nats-server ready on ${nats.url} (pid ${nats.child.pid}, JetStream in ${join(a.dir, UP_FILES.natsStore)})`);
    contextUrl = nats.url;
    const contextFile = recordContext(a.dir, { url: nats.url, creds: operatorCreds, inbox_prefix: inboxPrefix(ctx.principalKey), description: `holonctl up: local cell ${ctx.cellId}` });
    const target = { servers: [nats.url], credsFile: adminCreds };
    await declareStreams(target);

    const cfg = await writeDaemonConfigs(a.dir, { url: nats.url, orchestratorCreds, writerCreds, adminCreds, policy: policyFile, principalKey: ctx.principalKey, admissionDifficulty: policy.admission_difficulty, tcti: tpm.tcti, isolation: a.isolation, overcommit: a.overcommit });
    const orchLog = join(logs, 'orchestrator.log');
    const orchFrom = existsSync(orchLog) ? statSync(orchLog).size : 0;
    const orch = spawnLogged('holon-orchestrator', process.execPath, [join(DIST, 'orchestrator/main.js'), '--config', cfg.orchestrator], orchLog);
    children.push(orch);
    await waitUntil('orchestrator', children, () => findLogLine(orchLog, orchFrom, 'holon-orchestrator ready'), READY_MS);
    const orchMetrics = metricsUrlOf(orchLog, orchFrom);
    say(`orchestrator ready (pid ${orch.pid}, log ${orchLog}, metrics ${orchMetrics ?? 'off'})`);

    const agentDir = join(a.dir, UP_FILES.agentDir);
    const agentLog = join(logs, 'agent.log');
    const agentFrom = existsSync(agentLog) ? statSync(agentLog).size : 0;
    const agent = spawnLogged('holon-agent', process.execPath, [join(DIST, 'agent/main.js'), '--config', cfg.agent], agentLog);
    children.push(agent);
    const machineId = await waitUntil('agent', children, () => agentMachineId(agentDir), READY_MS);
    const bus: BusArgs = { target: { servers: [nats.url], credsFile: operatorCreds }, dir: a.dir, from: { dir: 'flag', servers: 'flag', creds: 'flag' } };
    client = await openCell(ports, bus, ctx);
    const cell = client;
    const attested = await waitUntil('agent attestation', children, async () => {
      const s = agentState(agentDir);
      if (s.state === 'REFUSED') throw new UpError('agent attestation', `refused: ${s.refusal?.code ?? ''} ${s.refusal?.reason ?? ''}`);
      const { row } = await rowOf(cell, ctx, machineId);
      if (row?.state === 'REFUSED') throw new UpError('agent attestation', `the cell refused ${machineId}: ${row.refusal?.code ?? ''} ${row.refusal?.reason ?? ''}`);
      return row?.state === 'ATTESTED' || row?.state === 'ENROLLED' ? row : undefined;
    }, READY_MS);
    say(`agent attested: ${machineId} (${attested.software_only === true ? 'software-only' : 'TPM'})`);
    if (attested.state === 'ATTESTED') {
      const cap = captureIo(io);
      const code = await approveCommand.run([machineId, '--server', nats.url, '--creds', operatorCreds, '--dir', a.dir, '--json'], cap.io, ports);
      if (code !== EXIT_OK) throw new UpError('approve', `holonctl approve exited ${code}`);
      say(`approved ${machineId} with the principal key`);
    }
    const { rows } = await waitUntil('enrollment', children, async () => {
      const r = await rowOf(cell, ctx, machineId);
      // The state file may say ENROLLED from an earlier run: wait for this agent process to be running.
      return r.row?.state === 'ENROLLED' && agentState(agentDir).state === 'ENROLLED' && findLogLine(agentLog, agentFrom, 'holon-agent running') !== undefined ? r : undefined;
    }, READY_MS);
    say(`enrolled: ${machineId}`);
    // Each daemon's /metrics (with /healthz and /readyz beside it), on a free loopback port (docs/metrics.md).
    const metrics = { orchestrator: orchMetrics, agent: metricsUrlOf(agentLog, agentFrom) };
    say(`metrics: orchestrator ${metrics.orchestrator ?? 'off'}, agent ${metrics.agent ?? 'off'}`);

    // Take SIGINT/SIGTERM as "stop cleanly" before the report tells anyone the fleet is up: a signal that came
    // between the two used to end up at once, and its exit hook SIGKILLed the daemons mid-flight.
    const stop = stopRequested(children);
    const pids = Object.fromEntries(children.map((c) => [c.name, c.pid]));
    if (a.json) {
      writeLine(io.stdout, JSON.stringify({ dir: a.dir, cell_id: ctx.cellId, principal_key: ctx.principalKey, nats_url: nats.url, creds: operatorCreds, context: contextFile, tpm: tpm.tcti ?? null, development_policy: ekSha256 === undefined, policy: policyFile, machine_id: machineId, pids, logs, metrics, machines: rows }, null, 2));
    } else {
      writeLine(io.stdout, `cell ${ctx.cellId}: ${rows.length} machine${rows.length === 1 ? '' : 's'}`);
      for (const l of formatRows(rows)) writeLine(io.stdout, l);
      const dirFlag = resolveDir(undefined, io.env).dir === a.dir ? '' : ` --dir ${a.dir}`;
      say(`running; the server and credentials are in ${contextFile}, so in another terminal try: ${holonctlCommand(io.env)} machines${dirFlag}`);
      say('Ctrl-C stops the agent, the orchestrator and nats-server');
    }
    await client.close();
    client = undefined;

    const why = await stop.wait;
    stop.dispose();
    const signalled = why === 'SIGINT' || why === 'SIGTERM';
    say(signalled ? `${why}: stopping` : `${why}: stopping the rest`);
    const clean = await stopAll();
    return signalled && clean ? EXIT_OK : EXIT_FAILURE;
  } catch (e) {
    await client?.close().catch(() => undefined);
    await stopAll();
    throw e;
  } finally {
    process.removeListener('exit', killOnExit);
    if (contextUrl !== undefined) forgetContext(a.dir, contextUrl);
  }
}

export const upCommand: Command = {
  name: 'up',
  summary: 'run a local cell (nats-server, orchestrator, agent) with this machine enrolled',
  help: HELP,
  // runCli passes CliPorts & InitPorts & UpPorts (cli/run.ts); Command's method type is bivariant.
  run: runUp,
};
