/**
 * The NATS trust `holonctl init` writes, on a real nats-server: the server
 * runs from nats/auth.conf, a holon user minted with the account signing key
 * may use holon.<its id>.> and its own inbox (so request/reply works) and is
 * refused — by the server, as a permissions violation — on another holon's
 * subjects and on the shared _INBOX.>; the bootstrap user may only publish
 * api.bootstrap.>; the cell account has JetStream; the orchestrator's three
 * users and holonctl's, which init mints as `holonctl up` does, carry exactly
 * their grants (bus-schemas/grants) and the server enforces them.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, credsAuthenticator, type NatsConnection, type PermissionViolationError } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { mintUser } from '../../adapters/nats/credentials.js';
import { adminGrant, bootstrapGrant, holonGrant, ledgerWriterGrant, operatorGrant, orchestratorServeGrant, type UserGrant } from '../../bus-schemas/grants.js';
import { inboxPrefix } from '../../bus-schemas/subjects.js';
import { CellCertificateV1 } from '../../bus-schemas/v1/cell-certificate.js';
import { convertId, type HolonIdV1 } from '../../bus-schemas/ids.js';
import { allowAll } from '../agent/fake-cell.js';

const holonInboxPrefix = (id: HolonIdV1): string => `_INBOX.${convertId(id, 'key')}`;
import { encodeId } from '../../bus-schemas/ids.js';
import { generateEd25519 } from '../../bus-schemas/keys.js';
import { NatsServer } from '../harness/nats-server.js';
import { holonctl, loadKey, makeTemp } from './init-helpers.js';

const newHolonId = (): HolonIdV1 => encodeId('holon', generateEd25519().publicKey);

interface Client {
  nc: NatsConnection;
  violations: PermissionViolationError[];
  /** Flush until a violation naming `subject` arrives (or 5 s pass); returns it. */
  violationOn(subject: string): Promise<PermissionViolationError | undefined>;
}

async function client(t: Test, url: string, creds: string | Uint8Array, inboxPrefix?: string): Promise<Client> {
  const nc = await connect({
    servers: url,
    authenticator: credsAuthenticator(typeof creds === 'string' ? new TextEncoder().encode(creds) : creds),
    ...(inboxPrefix !== undefined ? { inboxPrefix } : {}),
  });
  t.teardown(() => nc.close());
  const violations: PermissionViolationError[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error' && s.error.name === 'PermissionViolationError') violations.push(s.error as PermissionViolationError);
    }
  })();
  return {
    nc,
    violations,
    async violationOn(subject) {
      const until = Date.now() + 5000;
      for (;;) {
        const v = violations.find((e) => e.subject === subject);
        if (v !== undefined || Date.now() > until) return v;
        await nc.flush().catch(() => undefined);
        await sleep(20);
      }
    },
  };
}

/** Publish on `subject` and see whether a watcher allowed to read it gets the message. */
async function delivered(watcher: NatsConnection, publisher: NatsConnection, subject: string): Promise<boolean> {
  const sub = watcher.subscribe(subject, { max: 1, timeout: 1500 });
  await watcher.flush();
  publisher.publish(subject, 'x');
  await publisher.flush().catch(() => undefined);
  try {
    for await (const _m of sub) return true;
  } catch {
    return false;
  }
  return false;
}

void t.test('a real nats-server runs on the generated auth.conf and enforces the minted permissions', async (t) => {
  const { dir: tmp, remove } = makeTemp('holonet-init-nats-');
  t.teardown(remove);
  const dir = join(tmp, 'd');
  const init = holonctl(['init', '--dir', dir, '--cell-name', 'nats-test']);
  t.equal(init.status, 0, init.stderr);
  const server = await NatsServer.start({ name: 'init', config: readFileSync(join(dir, 'nats/auth.conf'), 'utf8') });
  t.teardown(() => server.stop());
  const seeds = { account: readFileSync(join(dir, 'nats/account.nk'), 'utf8'), accountSigning: readFileSync(join(dir, 'nats/account-signing.nk'), 'utf8') };
  const mint = async (grant: UserGrant): Promise<string> => (await mintUser(seeds, grant)).creds;

  // An all-seeing user of the cell account (what the orchestrator would be) to watch the wire.
  const watcher = await client(t, server.url, await mint(allowAll('watcher')));
  const info = await (await jetstreamManager(watcher.nc)).getAccountInfo();
  t.ok(info.limits.max_storage !== 0 || info.limits.max_memory !== 0, 'JetStream is enabled for the cell account');

  const me = newHolonId();
  const other = newHolonId();
  const holon = await client(t, server.url, await mint(holonGrant(me)), holonInboxPrefix(me));

  await t.test('its own subjects: publish, subscribe, request through its inbox', async (t) => {
    const sub = holon.nc.subscribe(`holon.${me}.>`, { max: 1 });
    holon.nc.publish(`holon.${me}.hello`, 'mine');
    let got = '';
    for await (const m of sub) got = m.subject;
    t.equal(got, `holon.${me}.hello`, 'publishes and receives on holon.<id>.>');

    // The cell (here the watcher) answers into the holon's own inbox; the holon itself has no response permission.
    const svc = watcher.nc.subscribe(`holon.${me}.echo`);
    void (async () => {
      for await (const m of svc) m.respond(m.data);
    })();
    await watcher.nc.flush();
    const reply = await holon.nc.request(`holon.${me}.echo`, 'ping', { timeout: 3000 });
    t.equal(reply.string(), 'ping', `a request answered through ${holonInboxPrefix(me)}.…`);
    svc.unsubscribe();
    t.same(holon.violations, [], 'no violations so far');
  });

  await t.test('another holon\'s subjects: refused by the server', async (t) => {
    const theirs = `holon.${other}.hello`;
    t.notOk(await delivered(watcher.nc, holon.nc, theirs), 'a publish to another holon never arrives');
    t.match(await holon.violationOn(theirs), { operation: 'publish', subject: theirs }, 'the server reports a publish permissions violation');
    holon.nc.subscribe(`holon.${other}.>`);
    t.match(await holon.violationOn(`holon.${other}.>`), { operation: 'subscription' }, 'subscribing to another holon is refused');
    holon.nc.subscribe('_INBOX.>');
    t.match(await holon.violationOn('_INBOX.>'), { operation: 'subscription' }, 'the shared _INBOX.> is refused');
    holon.nc.subscribe(`${holonInboxPrefix(other)}.>`);
    t.match(await holon.violationOn(`${holonInboxPrefix(other)}.>`), { operation: 'subscription' }, 'and so is another holon\'s inbox');
  });

  await t.test('a client that forgets its inbox prefix cannot make requests', async (t) => {
    const careless = await client(t, server.url, await mint(holonGrant(me)));
    await t.rejects(careless.nc.request(`holon.${me}.echo`, 'ping', { timeout: 1500 }), 'the request fails');
    t.ok(careless.violations.some((v) => v.operation === 'subscription' && v.subject.startsWith('_INBOX.')), 'the server refused the _INBOX. subscription');
  });

  await t.test('the bootstrap user may only publish api.bootstrap.>', async (t) => {
    const boot = await client(t, server.url, await mint(bootstrapGrant()), '_INBOX.bootstrap.session');
    t.ok(await delivered(watcher.nc, boot.nc, 'api.bootstrap.hello'), 'api.bootstrap.hello arrives');
    const elsewhere = `holon.${me}.cmd`;
    t.notOk(await delivered(watcher.nc, boot.nc, elsewhere), 'a publish to a holon never arrives');
    t.match(await boot.violationOn(elsewhere), { operation: 'publish' }, 'refused by the server');
    t.notOk(await delivered(watcher.nc, boot.nc, 'api.provision'), 'nor to another api subject');
    boot.nc.subscribe('api.bootstrap.>');
    t.match(await boot.violationOn('api.bootstrap.>'), { operation: 'subscription' }, 'it cannot read other agents\' hellos');
  });

  await t.test('the generated bootstrap.creds is that user', async (t) => {
    const boot = await client(t, server.url, readFileSync(join(dir, 'nats/bootstrap.creds')), '_INBOX.bootstrap.session');
    t.ok(await delivered(watcher.nc, boot.nc, 'api.bootstrap.hello'), 'connects and publishes api.bootstrap.hello');
    t.notOk(await delivered(watcher.nc, boot.nc, `holon.${me}.x`), 'and nothing else');
    t.ok(await boot.violationOn(`holon.${me}.x`), 'a permissions violation');
  });

  await t.test('the orchestrator\'s and holonctl\'s credentials: their grants, enforced', async (t) => {
    const principal = loadKey(join(dir, 'keys/principal.key')).keyId;
    const cell = CellCertificateV1.decode(readFileSync(join(dir, 'cell-certificate.json'), 'utf8').trim()).cell_id;
    const minted: [string, UserGrant][] = [
      ['nats/orchestrator-serve.creds', orchestratorServeGrant(cell)],
      ['nats/orchestrator-writer.creds', ledgerWriterGrant(cell)],
      ['nats/orchestrator-admin.creds', adminGrant(cell)],
      ['nats/holonctl.creds', operatorGrant(principal)],
    ];
    for (const [file, grant] of minted) {
      const jwt = /([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\./.exec(readFileSync(join(dir, file), 'utf8'))?.[2] ?? '';
      const perms = (JSON.parse(Buffer.from(jwt, 'base64url').toString()) as { name: string; nats: { pub: { allow: string[]; deny?: string[] }; sub: { allow: string[] } } });
      t.same(
        { name: perms.name, publish: perms.nats.pub.allow, publishDeny: perms.nats.pub.deny ?? [], subscribe: perms.nats.sub.allow },
        { name: grant.name, publish: grant.publish, publishDeny: grant.publishDeny ?? [], subscribe: grant.subscribe },
        `${file}: exactly the ${grant.kind} grant`,
      );
    }
    const admin = await client(t, server.url, readFileSync(join(dir, 'nats/orchestrator-admin.creds')), adminGrant(cell).inboxPrefix);
    t.ok((await (await jetstreamManager(admin.nc)).getAccountInfo()).limits !== undefined, 'the admin user calls the JetStream API');
    const serve = await client(t, server.url, readFileSync(join(dir, 'nats/orchestrator-serve.creds')), orchestratorServeGrant(cell).inboxPrefix);
    await t.rejects(async () => (await jetstreamManager(serve.nc, { timeout: 1500 })).getAccountInfo(), { message: /Permissions Violation for Publish to "\$JS\.API\.INFO"/ }, 'the serving user may not: the server refuses its JetStream API call');
    const operator = await client(t, server.url, readFileSync(join(dir, 'nats/holonctl.creds')), inboxPrefix(principal));
    t.ok(await delivered(watcher.nc, operator.nc, 'api.machines.list'), 'holonctl sends the cell\'s requests');
    t.notOk(await delivered(watcher.nc, operator.nc, `holon.${me}.cmd`), 'and nothing to a holon');
    t.match(await operator.violationOn(`holon.${me}.cmd`), { operation: 'publish' }, 'refused by the server');
  });
});
