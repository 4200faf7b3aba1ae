import t from 'tap';
import { encodeId } from '../../bus-schemas/ids.js';
import { generateEd25519 } from '../../bus-schemas/keys.js';
import {
  API_SUBJECTS,
  apiSubject,
  cmdSubject,
  evtSubject,
  holonSubject,
  holonWildcard,
  ledgerSubject,
  parseCmdSubject,
  parseEvtSubject,
  parseLedgerSubject,
  SubjectError,
  bootstrapInboxPrefix,
  inboxPrefix,
  isInboxSubject,
  replySubjectAllowed,
} from '../../bus-schemas/subjects.js';
import { cmdStream, holonetStreams, kvStreamDefinition, ledgerStream, revocationsKv, SECOND_NS } from '../../bus-schemas/streams.js';
import { refuses } from '../helpers/refuses.js';

const pk = generateEd25519().publicKey;
const holon = encodeId('holon', pk);
const cell = encodeId('cell', pk);
const key = encodeId('key', pk);

void t.test('subject builders put each id in exactly one token', async (t) => {
  t.equal(API_SUBJECTS.provision, 'api.provision');
  t.equal(API_SUBJECTS.bootstrapHello, 'api.bootstrap.hello');
  t.equal(apiSubject('bootstrap', 'hello'), 'api.bootstrap.hello');
  t.equal(cmdSubject(key), `cmd.${key}`);
  t.equal(evtSubject(holon, 'metering'), `evt.${holon}.metering`);
  t.equal(ledgerSubject(holon), `ledger.${holon}`);
  t.equal(ledgerSubject(cell), `ledger.${cell}`);
  t.equal(holonWildcard(holon), `holon.${holon}.>`);
  t.equal(holonSubject(holon, 'jobs', 'out'), `holon.${holon}.jobs.out`);
  t.equal(parseLedgerSubject(`ledger.${cell}`), cell);
  t.equal(parseCmdSubject(`cmd.${key}`), key);
  t.same(parseEvtSubject(`evt.${holon}.heartbeat`), { holon, event: 'heartbeat' });
});

void t.test('subject builders refuse ids of the wrong kind, typos and wildcards', async (t) => {
  refuses(t, () => cmdSubject(holon as never), { code: 'HOLON_E_BAD_SUBJECT', reason: 'machine id must be a key id' });
  refuses(t, () => ledgerSubject(key as never), { code: 'HOLON_E_BAD_SUBJECT', reason: 'ledger owner must be a holon id or cell id' });
  const typo = `${holon.slice(0, 20)}${holon[20] === 'q' ? 'p' : 'q'}${holon.slice(21)}`;
  refuses(t, () => ledgerSubject(typo as never), { reason: /not a valid id/ });
  refuses(t, () => ledgerSubject('holon1>'), SubjectError);
  refuses(t, () => holonSubject(holon, 'a.b'), { reason: /holon subject token must match/ });
  refuses(t, () => holonSubject(holon, '*'), SubjectError);
  refuses(t, () => apiSubject('>'), SubjectError);
  refuses(t, () => evtSubject(holon, 'Metering' as never), { reason: /event kind/ });
  refuses(t, () => parseLedgerSubject(`ledger.${holon}.x`), { reason: 'ledger subject has more than two tokens' });
  refuses(t, () => parseLedgerSubject(`evt.${holon}`), { reason: 'not a ledger.<owner> subject' });
  refuses(t, () => parseCmdSubject(`cmd.${holon}`), { reason: 'machine id must be a key id' });
});

void t.test('stream definitions: LEDGER is append-only, CMD a work queue, KV as @nats-io/kv lays it out', async (t) => {
  const l = ledgerStream({ replicas: 3 });
  t.match(l, {
    name: 'LEDGER',
    subjects: ['ledger.>'],
    storage: 'file',
    retention: 'limits',
    deny_delete: true,
    deny_purge: true,
    allow_rollup_hdrs: false,
    discard: 'new',
    max_age: 0,
    max_msgs: -1,
    num_replicas: 3,
  });
  t.equal(l.duplicate_window, 120 * SECOND_NS);
  t.equal(cmdStream().retention, 'workqueue');
  t.equal(cmdStream().num_replicas, 1);
  const kv = kvStreamDefinition(revocationsKv());
  t.match(kv, { name: 'KV_revocations', subjects: ['$KV.revocations.>'], max_msgs_per_subject: 1, allow_rollup_hdrs: true, discard: 'new' });
  t.same(
    holonetStreams().map((s) => s.name),
    ['CMD', 'EVT', 'LEDGER', 'KV_holon-state', 'KV_revocations'],
  );
  refuses(t, () => ledgerStream({ replicas: 2 }), { code: 'HOLON_E_STREAM_DEFINITION', field: 'num_replicas' });
  refuses(t, () => kvStreamDefinition({ ...revocationsKv(), bucket: 'a.b' }), { field: 'bucket' });
});

void t.test('reply subjects: only concrete subjects under the requester\'s own inbox prefix', async (t) => {
  const key = encodeId('key', generateEd25519().publicKey);
  const mine = inboxPrefix(key);
  t.equal(mine, `_INBOX.${key}`);
  t.equal(bootstrapInboxPrefix(key), `_INBOX.bootstrap.${key}`);
  t.ok(replySubjectAllowed(`${mine}.abc.1`, [mine]), 'a mux reply under the prefix');
  for (const bad of [mine, `${mine}.`, `${mine}.*`, `${mine}.>`, `${mine}..x`, `${mine}.a b`, `${mine}.$JS`, `${mine}x.y`, '$JS.API.STREAM.PURGE.EVT', `ledger.${key}`, `${mine}.${'a.'.repeat(9)}a`, `${mine}.${'a'.repeat(300)}`]) {
    t.notOk(replySubjectAllowed(bad, [mine]), `refused: ${bad.slice(0, 60)}`);
  }
  t.notOk(replySubjectAllowed(undefined, [mine]), 'no reply subject');
  t.ok(isInboxSubject(`_INBOX.${key}.x`), 'an inbox');
  t.notOk(isInboxSubject('_INBOX.x'), 'an inbox needs an owner token and a reply token');
  t.notOk(isInboxSubject('cmd.x.y'), 'not an inbox');
});
