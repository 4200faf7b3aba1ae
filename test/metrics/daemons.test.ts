/**
 * The daemons' observability as real processes:
 *
 * - `holonctl up --isolation noop` (nats-server, holon-orchestrator,
 *   holon-agent), then what a user does — three malformed requests, a
 *   provision no machine can take, one that runs, its teardown — and each
 *   daemon's /metrics, fetched over HTTP and read with the strict text
 *   parser, shows exactly those figures; /healthz and /readyz answer 200;
 * - every line both daemons wrote in that run is a strict JSON object (no
 *   duplicate key, no stray text) with pino's fields;
 * - a holon-agent whose stdout is "the journal" (JOURNAL_STREAM names it)
 *   prefixes every line with its syslog priority, and its /readyz says why
 *   it is not ready while no cell answers.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { packageVersion } from '../../adapters/release/package-version.js';
import { parseStrictJson } from '../../bus-schemas/strict-json.js';
import { API_SUBJECTS } from '../../bus-schemas/subjects.js';
import { keyOf, newSigner } from '../bootstrap/fixtures.js';
import { holonctl, makeTemp } from '../cli/init-helpers.js';
import { busOf, startUp, stopUp } from '../provision/up-fixture.js';
import { parsePromText, sampleValue, type Family } from './prom-text.js';

const AGENT_MAIN = fileURLToPath(new URL('../../agent/main.js', import.meta.url));

const { dir: tmp, remove } = makeTemp('holonet-metrics-');
t.teardown(remove);

async function scrape(url: string): Promise<Map<string, Family>> {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}`);
  return parsePromText(await r.text());
}

async function get(url: string): Promise<[number, string]> {
  const r = await fetch(url);
  return [r.status, await r.text()];
}

/** Every line of a daemon's log: strict JSON (duplicate keys refused), pino's fields; `prefix` stripped first. */
function checkLogLines(t: Test, file: string, prefix?: RegExp): Record<string, unknown>[] {
  const text = readFileSync(file, 'utf8');
  t.ok(text.endsWith('\n'), `${file} ends with a newline`);
  const lines = text.split('\n').slice(0, -1);
  const bad: string[] = [];
  const parsed: Record<string, unknown>[] = [];
  for (const line of lines) {
    const body = prefix === undefined ? line : line.replace(prefix, '');
    if (prefix !== undefined && body === line) bad.push(`no prefix: ${line.slice(0, 120)}`);
    try {
      const j = parseStrictJson(body) as Record<string, unknown>;
      if (typeof j.level !== 'number' || typeof j.time !== 'number' || typeof j.name !== 'string' || typeof j.msg !== 'string') bad.push(`not a pino line: ${line.slice(0, 120)}`);
      parsed.push(j);
    } catch (e) {
      bad.push(`${(e as Error).message}: ${line.slice(0, 200)}`);
    }
  }
  t.same(bad, [], `${lines.length} lines of ${file}: each a strict JSON object with level, time, name, msg`);
  return parsed;
}

void t.test('holonctl up: the figures of a short session on both /metrics, and clean logs', async (t) => {
  const dir = join(tmp, 'cell');
  const up = await startUp(dir, { isolation: 'noop' });
  t.teardown(() => stopUp(up));
  const metrics = (up.report as typeof up.report & { metrics: { orchestrator: string; agent: string } }).metrics;
  t.match(metrics, { orchestrator: /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, agent: /^http:\/\/127\.0\.0\.1:\d+\/metrics$/ }, 'both URLs in the report');
  for (const url of Object.values(metrics)) {
    const base = url.replace(/\/metrics$/, '');
    t.same(await get(`${base}/healthz`), [200, 'ok\n'], `${base}/healthz`);
    t.same(await get(`${base}/readyz`), [200, 'ready\n'], `${base}/readyz`);
  }
  const before = await scrape(metrics.orchestrator);
  const count = (f: Map<string, Family>, name: string, labels: Record<string, string> = {}): number => sampleValue(f, name, labels) ?? 0;

  // Three requests that are not even JSON: refused by the service before any handler.
  const conn = await busOf(up);
  t.teardown(() => conn.close());
  for (let i = 0; i < 3; i++) {
    const m = await conn.nc.request(API_SUBJECTS.provision, new TextEncoder().encode(`{"not": json ${i}`), { timeout: 10_000 });
    t.match(JSON.parse(new TextDecoder().decode(m.data)), { code: 'HOLON_E_MALFORMED' });
  }
  // A request the handler refuses: no machine has the label.
  const refused = holonctl(['provision', '--role', 'GENERAL_COMPUTE', '--label', 'zone=nowhere', ...up.bus, '--json']);
  t.not(refused.status, 0, 'no machine for zone=nowhere');
  const code = /\[(HOLON_E_[A-Z_]+)\]/.exec(refused.stderr)?.[1];
  t.ok(code, `refused with a code: ${refused.stderr.trim()}`);
  // One that runs, and its teardown.
  const ran = holonctl(['provision', '--role', 'GENERAL_COMPUTE', ...up.bus, '--json']);
  t.equal(ran.status, 0, ran.stderr);
  const status = JSON.parse(ran.stdout) as { holon: { state: string; holon_id: string } };
  t.equal(status.holon.state, 'RUNNING');
  const down = holonctl(['teardown', status.holon.holon_id, ...up.bus, '--json']);
  t.equal(down.status, 0, down.stderr);

  const o = await scrape(metrics.orchestrator);
  t.equal(count(o, 'holonet_bus_refusals_total', { code: 'HOLON_E_MALFORMED' }) - count(before, 'holonet_bus_refusals_total', { code: 'HOLON_E_MALFORMED' }), 3, 'three malformed requests refused');
  t.equal(count(o, 'holonet_bus_refusals_total', { code: code ?? '' }), 1, `one ${code ?? '?'} refusal`);
  t.equal(count(o, 'holonet_provisions_total', { outcome: 'refused' }), 1, 'one provision refused by the handler (malformed ones never reach it)');
  t.equal(count(o, 'holonet_provisions_total', { outcome: 'placed' }), 1, 'one placed');
  t.equal(count(o, 'holonet_provision_step_duration_seconds_count', { step: 'authorize_place' }), 1, 'authorize_place timed once (refusals are not)');
  t.equal(count(o, 'holonet_provision_step_duration_seconds_count', { step: 'placed_to_running' }), 1, 'placed → running timed once');
  t.equal(count(o, 'holonet_provision_step_duration_seconds_count', { step: 'teardown' }), 1, 'one teardown');
  t.ok(count(o, 'holonet_provision_step_duration_seconds_count', { step: 'unit_report' }) >= 2, 'the PROVISIONED and DESTROYED reports');
  t.ok(count(o, 'holonet_provision_step_duration_seconds_count', { step: 'command_publish' }) >= 2, 'the provision and destroy commands');
  const appended = count(o, 'holonet_ledger_append_duration_seconds_count') - count(before, 'holonet_ledger_append_duration_seconds_count');
  t.ok(appended >= 4, `${appended} ledger entries published meanwhile (authorized, provisioned, teardown, destroyed)`);
  t.ok(count(o, 'holonet_ledger_append_duration_seconds_sum') > 0);
  t.equal(count(o, 'holonet_ready'), 1);
  t.equal(count(o, 'holonet_build_info', { daemon: 'holon-orchestrator', version: packageVersion() }), 1);

  const a = await scrape(metrics.agent);
  t.equal(count(a, 'holonet_provision_step_duration_seconds_count', { step: 'unit_create' }), 1, 'the agent created one unit');
  t.equal(count(a, 'holonet_provision_step_duration_seconds_count', { step: 'unit_destroy' }), 1, 'and destroyed it');
  t.equal(count(a, 'holonet_ready'), 1);
  t.ok(count(a, 'process_resident_memory_bytes') > 0, 'process metrics');

  await stopUp(up);
  t.equal(up.child.exitCode, 0, 'up stopped cleanly');
  const orch = checkLogLines(t, join(dir, 'logs/orchestrator.log'));
  const agent = checkLogLines(t, join(dir, 'logs/agent.log'));
  t.ok(orch.some((l) => l.component === 'bus(nats)' && l.msg === 'connected'), "the orchestrator's bus lines are among them");
  t.ok(agent.some((l) => l.component === 'bus' && l.msg === 'connected'), "and the agent's");
  t.match(orch.find((l) => l.msg === 'metrics listening'), { component: 'metrics', url: metrics.orchestrator });
});

void t.test('holon-agent on the journal: priority-prefixed lines; /readyz says why it is not ready', async (t) => {
  const dir = join(tmp, 'journal-agent');
  const config = join(tmp, 'journal-agent.json');
  // A bus nobody answers on: the agent keeps retrying its hello, alive but never ready.
  writeFileSync(config, JSON.stringify({ data_dir: dir, nats: { servers: ['nats://127.0.0.1:1'] }, principal_root: keyOf(newSigner()), tpm: { mode: 'off' }, isolation: 'noop', metrics: { listen: '127.0.0.1:0' } }));
  const log = join(tmp, 'journal-agent.log');
  const fd = openSync(log, 'w', 0o600);
  const st = fstatSync(fd);
  const child = spawn(process.execPath, [AGENT_MAIN, '--config', config], { stdio: ['ignore', fd, fd], env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` } });
  closeSync(fd);
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  t.teardown(() => void (child.exitCode === null && child.kill('SIGKILL')));
  let url: string | undefined;
  for (let i = 0; i < 200 && url === undefined; i++) {
    await sleep(50);
    const line = readFileSync(log, 'utf8').split('\n').find((l) => l.includes('"metrics listening"'));
    if (line !== undefined) url = (JSON.parse(line.replace(/^<\d>/, '')) as { url: string }).url;
  }
  t.ok(url, `metrics URL logged: ${url ?? ''}`);
  const base = (url ?? '').replace(/\/metrics$/, '');
  t.same(await get(`${base}/healthz`), [200, 'ok\n']);
  const [status, why] = await get(`${base}/readyz`);
  t.equal(status, 503);
  t.match(why, /^not ready: not enrolled and running yet/);
  t.equal(sampleValue(await scrape(`${base}/metrics`), 'holonet_ready'), 0);
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'a clean stop');
  const lines = checkLogLines(t, log, /^<[2-7]>/);
  const raw = readFileSync(log, 'utf8').split('\n').slice(0, -1);
  raw.forEach((l, i) => {
    const level = lines[i]?.level as number;
    const want = level >= 60 ? 2 : level >= 50 ? 3 : level >= 40 ? 4 : level >= 30 ? 6 : 7;
    if (!l.startsWith(`<${want}>`)) t.fail(`line ${i + 1} of level ${level} should start <${want}>: ${l.slice(0, 80)}`);
  });
  t.ok(raw.some((l) => l.startsWith('<6>')), 'info lines are <6>');
});
