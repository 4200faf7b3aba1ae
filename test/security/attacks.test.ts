/**
 * The bus attacked from outside, with each credential kind, by a raw NATS
 * protocol client (test/security/raw-nats.ts, not our bus adapter) against a
 * real fleet: nats-server in operator mode, holon-orchestrator, holon-agent.
 *
 * For every attack: refused (a typed refusal in the attacker's own inbox, no
 * answer at all, or the server's permission violation), nothing written or
 * removed anywhere (stream positions), `holonctl audit` clean, every daemon
 * still running and still serving a valid request.
 */
import t from 'tap';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { holonGrant } from '../../bus-schemas/grants.js';
import { digestRaw } from '../../bus-schemas/digest.js';
import { convertId, encodeId, type HolonIdV1 } from '../../bus-schemas/ids.js';
import { signerFromSeed, generateEd25519 } from '../../bus-schemas/keys.js';
import { API_SUBJECTS, bootstrapInboxPrefix, holonSubject, inboxPrefix, JOB_COMMAND_TOKEN, UNIT_REPORT_TOKEN } from '../../bus-schemas/subjects.js';
import { RefusalV1 } from '../../bus-schemas/v1/refusal.js';
import { UnitReportV1 } from '../../bus-schemas/v1/unit-flow.js';
import { ProvisionStatusRequestV1 } from '../../bus-schemas/v1/unit-flow.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { mintUser } from '../../adapters/nats/credentials.js';
import { readFileSync } from 'node:fs';
import { makeTemp } from '../cli/init-helpers.js';
import { assertCellHealthy, assertUntouched, randomId, startFleet, streamMarks } from './attack-fixture.js';
import { rawConnect, type RawClient } from './raw-nats.js';

const { dir: tmp, remove } = makeTemp('holonet-attack-');
t.teardown(remove);
const f = await startFleet(t, join(tmp, 'cell'));
const principalKey = encodeId('key', f.principal.publicKey);
const principalHolon = convertId(principalKey, 'holon');

/** Where a reflected answer would do harm (the list). */
function targets(): string[] {
  return [
    '$JS.API.STREAM.PURGE.EVT',
    '$JS.API.STREAM.PURGE.CMD',
    '$JS.API.STREAM.PURGE.LEDGER',
    '$JS.API.STREAM.MSG.DELETE.LEDGER',
    '$JS.API.STREAM.DELETE.KV_holon-state',
    `ledger.${principalHolon}`,
    `ledger.${f.up.report.cell_id}`,
    '$KV.holon-state.attack',
    `cmd.${f.machine.id}`,
    holonSubject(randomId('holon') as HolonIdV1, 'cmd'),
    holonSubject(f.machine.holon, JOB_COMMAND_TOKEN),
    `${inboxPrefix(principalKey)}.stolen`,
    `${inboxPrefix(f.cellKey)}.stolen`,
  ];
}

async function attacker(creds: string): Promise<RawClient> {
  const c = await rawConnect(f.url, creds);
  t.teardown(() => c.close());
  return c;
}

/**
 * Answers that reached the subjects an attack aimed at, seen by an all-seeing probe of the cell account. An
 * attacker's own publish carries the aimed subject as its reply; an answer is a message ON that subject, with none.
 */
async function probe(): Promise<{ seen: string[]; messages: RawClient['messages']; stop(): void }> {
  const seedsDir = join(f.dir, 'nats');
  const seeds = { account: readFileSync(join(seedsDir, 'account.nk'), 'utf8').trim(), accountSigning: readFileSync(join(seedsDir, 'account-signing.nk'), 'utf8').trim() };
  const all = await mintUser(seeds, { kind: 'admin', name: 'probe', publish: [], subscribe: ['>'], inboxPrefix: '_INBOX.probe' });
  const c = await rawConnect(f.url, all.creds, 'probe');
  c.sub('>');
  await c.flush();
  return {
    get seen() {
      return c.messages.filter((m) => m.reply === undefined).map((m) => m.subject);
    },
    messages: c.messages,
    stop: () => c.close(),
  };
}

const malformed = [
  '{"not":"a request"}',
  '{"requested_role":"RELAY","requested_role":"GENERAL_COMPUTE"}',
  '{"x":"\\ud800"}',
  'not json at all',
];

void t.test('reflection: no credential can aim the cell\'s or an agent\'s answer anywhere but its own inbox', async (t) => {
  const before = await streamMarks(f);
  const watch = await probe();
  const boot = await attacker(f.creds.bootstrap);
  const machine = await attacker(f.creds.machine);
  const operator = await attacker(f.creds.operator);
  const myBootInbox = bootstrapInboxPrefix(f.machine.id);
  boot.sub(`${myBootInbox}.>`);
  machine.sub(`${inboxPrefix(f.machine.id)}.>`);
  operator.sub(`${inboxPrefix(principalKey)}.>`);
  for (const c of [boot, machine, operator]) await c.flush();

  // A validly sealed request of each kind: the sealer is known, so the answer may go only to its inbox.
  const statusReq = ProvisionStatusRequestV1.seal(
    { cell_id: f.up.report.cell_id, request_digest: `sha256:${'0'.repeat(64)}`, request_nonce: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url'), sent_at: timeAt(Date.now()) } as never,
    f.principal,
  );
  const report = UnitReportV1.seal(
    {
      event: 'DESTROYED',
      request_digest: `sha256:${'1'.repeat(64)}`,
      machine_id: f.machine.id,
      unit_name: 'u-attack0001',
      holon_id: randomId('holon') as HolonIdV1,
      adapter: 'noop',
      at: timeAt(Date.now()),
    },
    f.machine.signer,
  );
  const sealed: [RawClient, string, Uint8Array][] = [
    [operator, API_SUBJECTS.provisionStatus, ProvisionStatusRequestV1.encode(statusReq)],
    [machine, holonSubject(f.machine.holon, UNIT_REPORT_TOKEN), UnitReportV1.encode(report)],
  ];
  const enc = new TextEncoder();
  const raws: [RawClient, string][] = [
    [boot, API_SUBJECTS.bootstrapHello],
    [boot, API_SUBJECTS.bootstrapAttest],
    [machine, holonSubject(f.machine.holon, UNIT_REPORT_TOKEN)],
    [machine, holonSubject(f.machine.holon, JOB_COMMAND_TOKEN)],
    [operator, API_SUBJECTS.provision],
    [operator, API_SUBJECTS.jobRun],
    [operator, API_SUBJECTS.teardown],
  ];
  const aims = targets();
  for (const reply of aims) {
    for (const [c, subject, bytes] of sealed) c.pub(subject, bytes, reply);
    for (const [c, subject] of raws) for (const m of malformed) c.pub(subject, enc.encode(m), reply);
  }
  for (const c of [boot, machine, operator]) await c.flush();
  await sleep(1500);

  // Outside the inbox namespace nothing at all was answered. Inside another identity's inbox, only refusals of
  // requests whose sealer could not be established (docs/security.md): never the answer to a sealed request.
  for (const reply of aims) {
    const answers = watch.messages.filter((m) => m.subject === reply && m.reply === undefined);
    if (!reply.startsWith('_INBOX.')) {
      t.equal(answers.length, 0, `${reply}: nothing was answered there`);
      continue;
    }
    // The principal's inbox is the operator attacker's own: its sealed request is rightly answered there.
    const own = reply.startsWith(`${inboxPrefix(principalKey)}.`) ? digestRaw(ProvisionStatusRequestV1.encode(statusReq)) : undefined;
    const sealedAnswers = answers.map((m) => RefusalV1.decode(m.data)).filter((r) => r.code !== 'HOLON_E_MALFORMED' && r.request_digest !== own);
    t.same(sealedAnswers, [], `${reply}: another identity's inbox got only refusals of unattributable bytes`);
  }
  // The sealed ones were refused, typed, in the sealer's own inbox.
  const opRefused = await operator.waitFor((m) => m.subject.endsWith('.refused'));
  t.ok(opRefused !== undefined, 'the operator attacker got a refusal in its own inbox');
  if (opRefused !== undefined) t.match(RefusalV1.decode(opRefused.data), { code: 'HOLON_E_REPLY_SUBJECT' });
  const mRefused = await machine.waitFor((m) => m.subject.endsWith('.refused'));
  t.ok(mRefused !== undefined, 'the machine attacker got a refusal in its own inbox');
  // The job handler of the agent answered nothing (its reply must be the cell's inbox).
  t.notOk(machine.messages.some((m) => !m.subject.startsWith(inboxPrefix(f.machine.id))), 'no message reached the machine attacker outside its inbox');
  watch.stop();
  assertUntouched(t, before, await streamMarks(f), 'after every reflection attempt');
  await assertCellHealthy(t, f);
});

void t.test('the server refuses what a credential may not do at all', async (t) => {
  const before = await streamMarks(f);
  const cases: [string, string, string][] = [
    ['bootstrap', f.creds.bootstrap, '$JS.API.STREAM.PURGE.EVT'],
    ['bootstrap', f.creds.bootstrap, `ledger.${principalHolon}`],
    ['machine', f.creds.machine, '$JS.API.STREAM.PURGE.CMD'],
    ['machine', f.creds.machine, `ledger.${f.machine.holon}`],
    ['machine', f.creds.machine, holonSubject(randomId('holon') as HolonIdV1, 'cmd')],
    ['operator', f.creds.operator, '$JS.API.STREAM.PURGE.LEDGER'],
    ['operator', f.creds.operator, '$JS.API.CONSUMER.CREATE.LEDGER'],
    ['operator', f.creds.operator, `ledger.${principalHolon}`],
    ['orchestrator-serve', f.creds.serve, '$JS.API.STREAM.PURGE.EVT'],
    ['orchestrator-serve', f.creds.serve, `ledger.${principalHolon}`],
    ['orchestrator-serve', f.creds.serve, `cmd.${f.machine.id}`],
    ['ledger-writer', f.creds.writer, '$JS.API.STREAM.PURGE.LEDGER'],
    ['admin', f.creds.admin, '$JS.API.STREAM.PURGE.LEDGER'],
    ['admin', f.creds.admin, '$JS.API.STREAM.DELETE.LEDGER'],
    ['admin', f.creds.admin, '$JS.API.STREAM.MSG.DELETE.LEDGER'],
    ['admin', f.creds.admin, `ledger.${principalHolon}`],
  ];
  // A holon (unit) user, minted as the cell mints it.
  const seeds = { account: readFileSync(join(f.dir, 'nats/account.nk'), 'utf8').trim(), accountSigning: readFileSync(join(f.dir, 'nats/account-signing.nk'), 'utf8').trim() };
  const unit = encodeId('holon', signerFromSeed(generateEd25519().seed).publicKey);
  const holonCreds = (await mintUser(seeds, holonGrant(unit))).creds;
  cases.push(['holon', holonCreds, API_SUBJECTS.approve], ['holon', holonCreds, holonSubject(f.machine.holon, JOB_COMMAND_TOKEN)], ['holon', holonCreds, '$KV.holon-state.x']);
  for (const [kind, creds, subject] of cases) {
    const c = await attacker(creds);
    c.pub(subject, '{"purge":true}');
    await c.flush().catch(() => undefined);
    const deadline = Date.now() + 2000;
    while (!c.errors.some((e) => e.includes(subject)) && Date.now() < deadline) await sleep(20);
    t.ok(c.errors.some((e) => /Permissions Violation for Publish/.test(e) && e.includes(subject)), `${kind} may not publish ${subject} (server: permissions violation)`);
    c.close();
  }
  // Subscriptions outside one's own inbox and subjects.
  const peek: [string, string, string][] = [
    ['bootstrap', f.creds.bootstrap, 'api.bootstrap.>'],
    ['machine', f.creds.machine, '_INBOX.>'],
    ['machine', f.creds.machine, `${inboxPrefix(f.cellKey)}.>`],
    ['holon', holonCreds, `${inboxPrefix(f.machine.id)}.>`],
    ['operator', f.creds.operator, 'ledger.>'],
  ];
  for (const [kind, creds, subject] of peek) {
    const c = await attacker(creds);
    c.sub(subject);
    await c.flush().catch(() => undefined);
    const deadline = Date.now() + 2000;
    while (!c.errors.some((e) => e.includes(subject)) && Date.now() < deadline) await sleep(20);
    t.ok(c.errors.some((e) => /Permissions Violation for Subscription/.test(e)), `${kind} may not subscribe ${subject}`);
    c.close();
  }
  assertUntouched(t, before, await streamMarks(f), 'after the forbidden publishes');
  await assertCellHealthy(t, f);
});

void t.test('duplicate keys and lone surrogates are refused at the cell, typed, naming the path', async (t) => {
  const before = await streamMarks(f);
  const operator = await attacker(f.creds.operator);
  const inbox = `${inboxPrefix(principalKey)}.dup`;
  operator.sub(inbox);
  await operator.flush();
  const statusReq = ProvisionStatusRequestV1.seal(
    { cell_id: f.up.report.cell_id, request_digest: `sha256:${'0'.repeat(64)}`, request_nonce: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url'), sent_at: timeAt(Date.now()) } as never,
    f.principal,
  );
  const text = new TextDecoder().decode(ProvisionStatusRequestV1.encode(statusReq));
  // The sealed bytes with a key repeated: a last-wins parser reads another request than the one sealed.
  const dup = text.replace('"cell_id":', `"cell_id":"${f.up.report.cell_id}","cell_id":`);
  const surrogate = text.replace('"cell_id":', '"x\\ud800":1,"cell_id":');
  operator.pub(API_SUBJECTS.provisionStatus, dup, inbox);
  operator.pub(API_SUBJECTS.provisionStatus, surrogate, `${inbox}`);
  await operator.flush();
  const deadline = Date.now() + 5000;
  while (operator.messages.filter((m) => m.subject === inbox).length < 2 && Date.now() < deadline) await sleep(20);
  const answers = operator.messages.filter((m) => m.subject === inbox).map((m) => RefusalV1.decode(m.data));
  t.equal(answers.length, 2, 'both answered, in the requester\'s inbox');
  t.match(answers.find((a) => /duplicate/.test(a.reason ?? a.message)), { code: 'HOLON_E_MALFORMED', path: '$.cell_id' }, 'duplicate key refused, naming $.cell_id');
  t.match(answers.find((a) => /surrogate/.test(a.reason ?? a.message)), { code: 'HOLON_E_MALFORMED' }, 'lone surrogate refused');
  assertUntouched(t, before, await streamMarks(f), 'after the strict-JSON attacks');
  await assertCellHealthy(t, f);
});
