/**
 * adapters/nats/credentials without a server: seeds of the wrong kind and
 * bad subjects are typed refusals that never echo the seed; user JWTs carry
 * exactly the granted permissions, issued by the signing key for the
 * account; files are written whole, with their mode, and never replaced.
 */
import t from 'tap';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from '@nats-io/jwt';
import {
  CredentialsError,
  createNkeySeed,
  inboxPrefixFromCreds,
  mintUser,
  nkeyPublic,
  renderServerAuthConfig,
  writeCredsFile,
  writeFileExclusive,
} from '../../adapters/nats/credentials.js';
import { adminGrant, holonGrant } from '../../bus-schemas/grants.js';
import { convertId, encodeId } from '../../bus-schemas/ids.js';
import { generateEd25519 } from '../../bus-schemas/keys.js';
import { refuses, refusesAsync } from '../helpers/refuses.js';
import { makeTemp } from './init-helpers.js';

void t.test('seeds: kinds are checked, the seed never appears in an error', async (t) => {
  const op = createNkeySeed('operator');
  t.match(op, /^SO/);
  t.match(nkeyPublic(op, 'operator'), /^O[A-Z2-7]{55}$/);
  const e = refuses(t, () => nkeyPublic(op, 'account'), { code: 'HOLON_E_NATS_CREDENTIALS' });
  t.notOk(e?.message.includes(op), 'no seed in the message');
  const broken = `SA${op.slice(2)}`;
  const e2 = refuses(t, () => nkeyPublic(broken, 'account', 'nats/account.nk'), { code: 'HOLON_E_NATS_CREDENTIALS', message: /nats\/account\.nk is not a valid nkey seed/ });
  t.notOk(e2?.message.includes(broken), 'no seed in the message');
});

void t.test('a holon user JWT: its subjects, its inbox, no response permission, signed by the signing key', async (t) => {
  const seeds = { account: createNkeySeed('account'), accountSigning: createNkeySeed('account') };
  const id = encodeId('holon', generateEd25519().publicKey);
  const u = await mintUser(seeds, holonGrant(id, { expiresAt: Date.UTC(2030, 0, 1) }));
  const c = decode<{ pub: { allow: string[] }; sub: { allow: string[] }; resp?: unknown; issuer_account: string }>(u.jwt);
  t.equal(c.name, id);
  t.equal(c.iss, nkeyPublic(seeds.accountSigning, 'account'), 'issued by the signing key');
  t.equal(c.nats.issuer_account, nkeyPublic(seeds.account, 'account'), 'for the cell account');
  t.same(c.nats.pub?.allow, [`holon.${id}.>`, 'api.provision', 'api.provision.status', 'api.holons.list', 'api.teardown'], 'publish: own subjects + the requests for its children');
  t.same(c.nats.sub?.allow, [`holon.${id}.>`, `_INBOX.${convertId(id, 'key')}.>`], 'subscribe: own subjects + own inbox, not _INBOX.>');
  t.equal(c.nats.resp, undefined, 'no allow_responses: it would let the holon publish to any reply subject it is sent');
  t.equal(inboxPrefixFromCreds(u.creds), `_INBOX.${convertId(id, 'key')}`, 'the inbox prefix is read back from the creds');
  t.equal(c.exp, Date.UTC(2030, 0, 1) / 1000, 'expiry');
  t.match(u.creds, /-----BEGIN NATS USER JWT-----[\s\S]*-----BEGIN USER NKEY SEED-----\nSU/);
  refuses(t, () => holonGrant('holon1nope'), { code: 'HOLON_E_MALFORMED' }, 'not a holon id');
  const bad = (publish: string[]): typeof grant => ({ ...grant, publish });
  const grant = holonGrant(id);
  await refusesAsync(t, () => mintUser(seeds, bad(['a b'])), { message: /publish: "a b" is not a NATS subject/ });
  await refusesAsync(t, () => mintUser(seeds, bad(['a.>.b'])), CredentialsError, '> only at the end');
});

void t.test('the admin user JWT: the JetStream API, with the calls that remove ledger data denied', async (t) => {
  const seeds = { account: createNkeySeed('account'), accountSigning: createNkeySeed('account') };
  const cell = encodeId('cell', generateEd25519().publicKey);
  const u = await mintUser(seeds, adminGrant(cell));
  const c = decode<{ pub: { allow: string[]; deny: string[] }; sub: { allow: string[] } }>(u.jwt);
  t.same(c.nats.pub?.allow, ['$JS.API.>']);
  t.same(c.nats.pub?.deny, ['$JS.API.STREAM.PURGE.LEDGER', '$JS.API.STREAM.DELETE.LEDGER', '$JS.API.STREAM.MSG.DELETE.LEDGER']);
});

void t.test('server config: refuses text that is not a JWT (no config injection)', async (t) => {
  const account = nkeyPublic(createNkeySeed('account'), 'account');
  refuses(t, () => renderServerAuthConfig({ operatorJwt: 'a.b.c"\ninclude "/etc/passwd', systemAccount: account, accounts: [] }), CredentialsError, 'operator JWT');
  refuses(t, () => renderServerAuthConfig({ operatorJwt: 'a.b.c', systemAccount: `${account}\ninclude x`, accounts: [] }), CredentialsError, 'account key');
  refuses(t, () => renderServerAuthConfig({ operatorJwt: 'a.b.c', systemAccount: account, accounts: [{ name: 'x\ninclude y', public: account, jwt: 'a.b.c' }] }), CredentialsError, 'account name');
  t.match(renderServerAuthConfig({ operatorJwt: 'a.b.c', systemAccount: account, accounts: [{ name: 'SYS', public: account, jwt: 'd.e.f' }] }), `resolver: MEMORY\nresolver_preload: {\n  # SYS\n  ${account}: "d.e.f"\n}`);
});

void t.test('files: whole, with their mode, never replaced', async (t) => {
  const { dir, remove } = makeTemp('holonet-creds-');
  t.teardown(remove);
  const p = join(dir, 'x.creds');
  await writeCredsFile(p, 'secret-1');
  t.equal(statSync(p).mode & 0o777, 0o600);
  await refusesAsync(t, () => writeCredsFile(p, 'secret-2'), { code: 'HOLON_E_NATS_CREDENTIALS', message: /exists; not replacing/ });
  t.equal(readFileSync(p, 'utf8'), 'secret-1', 'the first file stays');
  const q = join(dir, 'pub.json');
  writeFileSync(q, 'old');
  t.equal(await writeFileExclusive(q, 'new', 0o644), 'exists');
  t.equal(readFileSync(q, 'utf8'), 'old');
  t.equal(await writeFileExclusive(join(dir, 'n.json'), 'n', 0o644), 'written');
  t.equal(statSync(join(dir, 'n.json')).mode & 0o777, 0o644);
  t.same(readdirSync(dir).sort(), ['n.json', 'pub.json', 'x.creds'], 'no temp files left');
});
