/**
 * docs/security.md's credential table is the code's: every row, read from the
 * page, equals what bus-schemas/grants.ts grants (placeholders filled with
 * real ids), and the user JWT minted from each grant carries exactly those
 * permissions and no response permission.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { decode } from '@nats-io/jwt';
import { createNkeySeed, mintUser } from '../../adapters/nats/credentials.js';
import { CREDENTIAL_KINDS, adminGrant, bootstrapGrant, holonGrant, ledgerWriterGrant, machineGrant, operatorGrant, orchestratorServeGrant, type UserGrant } from '../../bus-schemas/grants.js';
import { convertId, encodeId } from '../../bus-schemas/ids.js';
import { agentConsumerName } from '../../bus-schemas/subjects.js';

const id = (kind: 'key' | 'holon' | 'cell'): string => encodeId(kind, crypto.getRandomValues(new Uint8Array(32)));
const mk = id('key') as `hkey1${string}`;
const hk = id('key') as `hkey1${string}`;
const pk = id('key') as `hkey1${string}`;
const cell = id('cell') as `cell1${string}`;
const vars: Record<string, string> = {
  '<m>': convertId(mk, 'holon'),
  '<mk>': mk,
  '<h>': convertId(hk, 'holon'),
  '<hk>': hk,
  '<pk>': pk,
  '<ck>': convertId(cell, 'key'),
  '<agent>': agentConsumerName(mk),
};

const grants: Record<string, UserGrant> = {
  bootstrap: bootstrapGrant(),
  machine: machineGrant(mk, cell),
  holon: holonGrant(convertId(hk, 'holon')),
  operator: operatorGrant(pk),
  'orchestrator-serve': orchestratorServeGrant(cell),
  'ledger-writer': ledgerWriterGrant(cell),
  admin: adminGrant(cell),
};

function cells(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => (m[1] as string).replace(/<[a-z]+>/g, (v) => vars[v] ?? v));
}

const page = readFileSync(new URL('../../../docs/security.md', import.meta.url), 'utf8');
const table = /<!-- grants-table:start -->([\s\S]*?)<!-- grants-table:end -->/.exec(page)?.[1] ?? '';
const rows = table
  .split('\n')
  .filter((l) => l.startsWith('| ') && !l.startsWith('| kind') && !l.startsWith('|---'))
  .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));

void t.test('the table in docs/security.md is what the code grants', async (t) => {
  t.same(rows.map((r) => r[0]).sort(), [...CREDENTIAL_KINDS].sort(), 'one row per credential kind, no more');
  for (const [kind, publish, deny, subscribe] of rows) {
    const g = grants[kind as string];
    if (g === undefined) {
      t.fail(`unknown kind ${kind}`);
      continue;
    }
    t.same(cells(publish ?? ''), [...g.publish], `${kind}: publish`);
    t.same(cells(deny ?? ''), [...(g.publishDeny ?? [])], `${kind}: publish denied`);
    t.same(cells(subscribe ?? ''), [...g.subscribe], `${kind}: subscribe`);
  }
});

void t.test('each minted user JWT carries exactly its grant, and never allow_responses', async (t) => {
  const seeds = { account: createNkeySeed('account'), accountSigning: createNkeySeed('account') };
  for (const [kind, g] of Object.entries(grants)) {
    const u = await mintUser(seeds, g);
    const c = decode<{ pub: { allow?: string[]; deny?: string[] }; sub: { allow?: string[] }; resp?: unknown }>(u.jwt);
    t.same(c.nats.pub?.allow, [...g.publish], `${kind}: JWT publish allow`);
    t.same(c.nats.pub?.deny ?? [], [...(g.publishDeny ?? [])], `${kind}: JWT publish deny`);
    t.same(c.nats.sub?.allow, [...g.subscribe], `${kind}: JWT subscribe allow`);
    t.equal(c.nats.resp, undefined, `${kind}: no allow_responses`);
    const inboxSubs = g.subscribe.filter((s) => s.startsWith('_INBOX.'));
    t.equal(inboxSubs.length, 1, `${kind}: exactly one inbox`);
    t.equal(inboxSubs[0], `${g.inboxPrefix}.>`, `${kind}: its inbox prefix is the one it may read`);
  }
  t.notOk(Object.values(grants).some((g) => g.publish.includes('>') || g.subscribe.includes('>')), 'no grant allows everything');
  t.same(
    Object.entries(grants).filter(([, g]) => g.publish.some((p) => p.startsWith('ledger.'))).map(([k]) => k),
    ['ledger-writer'],
    'only the ledger writer publishes on ledger.>',
  );
  t.same(
    Object.entries(grants).filter(([, g]) => g.publish.some((p) => p.startsWith('$JS.API.') && !p.includes('.INFO') && !p.includes('MSG.GET'))).map(([k]) => k),
    ['admin'],
    'only the admin identity calls the JetStream API beyond read-only info and gets',
  );
});
