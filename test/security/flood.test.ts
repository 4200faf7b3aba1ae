/**
 * A flood of malformed messages on every request subject, from the raw client
 * with the credential that may send there: the daemons stay up, their RSS
 * returns within 20 % of its value before, their logs grow by less than
 * 100 KB, and a valid `holonctl provision` still completes in under 2 s.
 *
 * HOLONET_FLOOD_N messages per subject (default 2 000 under `npm test`;
 * `npm run test:security` runs the 20 000).
 */
import t from 'tap';
import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { API_SUBJECTS, holonSubject, inboxPrefix, JOB_COMMAND_TOKEN, UNIT_REPORT_TOKEN } from '../../bus-schemas/subjects.js';
import { encodeId } from '../../bus-schemas/ids.js';
import { holonctl, makeTemp } from '../cli/init-helpers.js';
import { alive } from '../provision/up-fixture.js';
import { assertCellHealthy, startFleet } from './attack-fixture.js';
import { rawConnect } from './raw-nats.js';

const N = Number(process.env.HOLONET_FLOOD_N ?? 2000);

const { dir: tmp, remove } = makeTemp('holonet-flood-');
t.teardown(remove);
const f = await startFleet(t, join(tmp, 'cell'));

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}
const logSize = (name: string): number => statSync(join(f.dir, 'logs', name)).size;

void t.test(`${N} malformed messages per request subject`, async (t) => {
  const pids = { orchestrator: f.up.report.pids['holon-orchestrator'] as number, agent: f.up.report.pids['holon-agent'] as number };
  // Warm up: one valid provision, so both daemons have loaded what a request needs.
  const warm = holonctl(['provision', '--role', 'GENERAL_COMPUTE', ...f.up.bus, '--json']);
  t.equal(warm.status, 0, `warm-up provision: ${warm.stderr.slice(0, 300)}`);
  await sleep(2000);
  const rssBefore = { orchestrator: rssKb(pids.orchestrator), agent: rssKb(pids.agent) };
  const logsBefore = { orchestrator: logSize('orchestrator.log'), agent: logSize('agent.log') };

  const principalKey = encodeId('key', f.principal.publicKey);
  const plans: [string, string, string][] = [
    [f.creds.bootstrap, API_SUBJECTS.bootstrapHello, '_INBOX.bootstrap.x'],
    [f.creds.bootstrap, API_SUBJECTS.bootstrapAttest, '_INBOX.bootstrap.x'],
    [f.creds.bootstrap, API_SUBJECTS.bootstrapStatus, '_INBOX.bootstrap.x'],
    [f.creds.operator, API_SUBJECTS.provision, `${inboxPrefix(principalKey)}.flood`],
    [f.creds.operator, API_SUBJECTS.provisionStatus, `${inboxPrefix(principalKey)}.flood`],
    [f.creds.operator, API_SUBJECTS.holons, `${inboxPrefix(principalKey)}.flood`],
    [f.creds.operator, API_SUBJECTS.teardown, `${inboxPrefix(principalKey)}.flood`],
    [f.creds.operator, API_SUBJECTS.jobRun, `${inboxPrefix(principalKey)}.flood`],
    [f.creds.operator, API_SUBJECTS.machines, `${inboxPrefix(principalKey)}.flood`],
    [f.creds.operator, API_SUBJECTS.approve, `${inboxPrefix(principalKey)}.flood`],
    [f.creds.machine, holonSubject(f.machine.holon, UNIT_REPORT_TOKEN), `${inboxPrefix(f.machine.id)}.flood`],
    [f.creds.machine, holonSubject(f.machine.holon, JOB_COMMAND_TOKEN), `${inboxPrefix(f.machine.id)}.flood`],
  ];
  const started = Date.now();
  for (const [creds, subject, reply] of plans) {
    const c = await rawConnect(f.url, creds, 'flooder');
    for (let i = 0; i < N; i++) {
      // Varied junk: bad JSON, unknown fields, duplicate keys, lone surrogates, wrong types.
      const junk = [`{"n":${i}`, `{"unknown":${i}}`, `{"a":1,"a":${i}}`, `{"s":"\\ud800${i}"}`, `[${i}]`][i % 5] as string;
      c.pub(subject, junk, i % 7 === 0 ? `cmd.${f.machine.id}` : reply);
      if (i % 500 === 499) await c.flush(30_000);
    }
    await c.flush(60_000);
    t.same(c.errors.filter((e) => /Permissions Violation/.test(e)), [], `${subject}: the flooder was allowed to send there`);
    c.close();
  }
  t.comment(`sent ${N * plans.length} messages in ${Date.now() - started} ms`);

  // Let both daemons work through their backlog (until each uses < 10 % of a CPU for a second) and collect garbage.
  const cpuTicks = (pid: number): number => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(f[11]) + Number(f[12]);
  };
  const drainStart = Date.now();
  for (let busy = true; busy && Date.now() - drainStart < 120_000; ) {
    const before = [cpuTicks(pids.orchestrator), cpuTicks(pids.agent)];
    await sleep(1000);
    busy = cpuTicks(pids.orchestrator) - (before[0] as number) > 10 || cpuTicks(pids.agent) - (before[1] as number) > 10;
  }
  t.comment(`the daemons absorbed the flood ${Date.now() - drainStart} ms after it ended`);
  await sleep(2000);
  for (const [name, pid] of Object.entries(pids)) t.ok(alive(pid), `${name} survived the flood`);
  const deadline = Date.now() + 30_000;
  let rssAfter = { orchestrator: rssKb(pids.orchestrator), agent: rssKb(pids.agent) };
  while ((rssAfter.orchestrator > rssBefore.orchestrator * 1.2 || rssAfter.agent > rssBefore.agent * 1.2) && Date.now() < deadline) {
    await sleep(1000);
    rssAfter = { orchestrator: rssKb(pids.orchestrator), agent: rssKb(pids.agent) };
  }
  t.comment(`RSS kB before ${JSON.stringify(rssBefore)} after ${JSON.stringify(rssAfter)}`);
  t.ok(rssAfter.orchestrator <= rssBefore.orchestrator * 1.2, `orchestrator RSS back within 20 % (${rssBefore.orchestrator} → ${rssAfter.orchestrator} kB)`);
  t.ok(rssAfter.agent <= rssBefore.agent * 1.2, `agent RSS back within 20 % (${rssBefore.agent} → ${rssAfter.agent} kB)`);
  const growth = { orchestrator: logSize('orchestrator.log') - logsBefore.orchestrator, agent: logSize('agent.log') - logsBefore.agent };
  t.comment(`log growth bytes ${JSON.stringify(growth)}`);
  t.ok(growth.orchestrator < 100_000, `orchestrator log grew ${growth.orchestrator} bytes (< 100 KB)`);
  t.ok(growth.agent < 100_000, `agent log grew ${growth.agent} bytes (< 100 KB)`);

  const t0 = Date.now();
  const p = holonctl(['provision', '--role', 'GENERAL_COMPUTE', ...f.up.bus, '--json']);
  const ms = Date.now() - t0;
  t.equal(p.status, 0, `a valid provision after the flood: ${p.stderr.slice(0, 300)}`);
  t.comment(`holonctl provision after the flood: ${ms} ms (process start included)`);
  t.ok(ms < 2000, `completes in under 2 s (${ms} ms)`);
  await assertCellHealthy(t, f);
});
