/**
 * Machine A's credentials, minted the way the orchestrator mints them at
 * enrollment (hostGrant → mintUserJwt for the agent's own nkey), on a real
 * nats-server running the auth.conf `holonctl init` wrote: A may use its own
 * subjects and is refused — by the server — on machine B's.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fmtCreds } from '@nats-io/jwt';
import { createUser } from '@nats-io/nkeys';
import { connect, credsAuthenticator, type NatsConnection, type PermissionViolationError } from '@nats-io/transport-node';
import { mintUser, mintUserJwt } from '../../adapters/nats/credentials.js';
import { allowAll } from '../agent/fake-cell.js';
import { convertId, encodeId, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { generateEd25519 } from '../../bus-schemas/keys.js';
import { cmdSubject, evtSubject, inboxPrefix } from '../../bus-schemas/subjects.js';
import { hostGrant } from '../../orchestrator/enrollment.js';
import { NatsServer } from '../harness/nats-server.js';
import { holonctl, makeTemp } from '../cli/init-helpers.js';

interface Host {
  machine: PublicKeyIdV1;
  nc: NatsConnection;
  violations: PermissionViolationError[];
}

async function hostFor(t: Test, url: string, seeds: { account: string; accountSigning: string }): Promise<Host> {
  const machine = encodeId('key', generateEd25519().publicKey);
  const grant = hostGrant(machine, encodeId('cell', generateEd25519().publicKey));
  const user = createUser(); // the agent's own nkey; only its public key goes to the cell
  // Exactly what orchestrator/main.ts's credential minter does with a HostGrant.
  const jwt = await mintUserJwt(seeds, grant, user.getPublicKey());
  const nc = await connect({ servers: url, authenticator: credsAuthenticator(fmtCreds(jwt, user)), inboxPrefix: grant.inboxPrefix });
  t.teardown(() => nc.close());
  const violations: PermissionViolationError[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error' && s.error.name === 'PermissionViolationError') violations.push(s.error as PermissionViolationError);
    }
  })();
  return { machine, nc, violations };
}

async function violationOn(h: Host, subject: string): Promise<PermissionViolationError | undefined> {
  const until = Date.now() + 5000;
  for (;;) {
    const v = h.violations.find((e) => e.subject === subject);
    if (v !== undefined || Date.now() > until) return v;
    await h.nc.flush().catch(() => undefined);
    await sleep(20);
  }
}

void t.test("machine A's credentials cannot publish or subscribe on machine B's subjects", async (t) => {
  const { dir: tmp, remove } = makeTemp('holonet-host-creds-');
  t.teardown(remove);
  const dir = join(tmp, 'd');
  const init = holonctl(['init', '--dir', dir, '--cell-name', 'creds-test']);
  t.equal(init.status, 0, init.stderr);
  const server = await NatsServer.start({ name: 'host-creds', config: readFileSync(join(dir, 'nats/auth.conf'), 'utf8') });
  t.teardown(() => server.stop());
  const seeds = { account: readFileSync(join(dir, 'nats/account.nk'), 'utf8'), accountSigning: readFileSync(join(dir, 'nats/account-signing.nk'), 'utf8') };
  const watcher = await connect({
    servers: server.url,
    authenticator: credsAuthenticator(new TextEncoder().encode((await mintUser(seeds, allowAll('watcher'))).creds)),
  });
  t.teardown(() => watcher.close());

  const a = await hostFor(t, server.url, seeds);
  const b = await hostFor(t, server.url, seeds);
  const aHolon = convertId(a.machine, 'holon');
  const bHolon = convertId(b.machine, 'holon');

  // A's own heartbeat subject works.
  const own = watcher.subscribe(evtSubject(aHolon, 'heartbeat'), { max: 1, timeout: 3000 });
  await watcher.flush();
  a.nc.publish(evtSubject(aHolon, 'heartbeat'), 'alive');
  let got = 0;
  for await (const _m of own) got++;
  t.equal(got, 1, "A publishes on its own evt.<A>.heartbeat");

  // B's subjects: every one refused by the server.
  const theirs = evtSubject(bHolon, 'heartbeat');
  a.nc.publish(theirs, 'forged');
  t.match(await violationOn(a, theirs), { operation: 'publish', subject: theirs }, "publishing B's heartbeat is a permissions violation");
  a.nc.subscribe(cmdSubject(b.machine));
  t.match(await violationOn(a, cmdSubject(b.machine)), { operation: 'subscription' }, "reading B's command queue is refused");
  a.nc.subscribe(`holon.${bHolon}.>`);
  t.match(await violationOn(a, `holon.${bHolon}.>`), { operation: 'subscription' }, "subscribing to holon.<B>.> is refused");
  a.nc.subscribe(`${inboxPrefix(b.machine)}.>`);
  t.match(await violationOn(a, `${inboxPrefix(b.machine)}.>`), { operation: 'subscription' }, "reading B's inbox is refused");
  t.same(b.violations, [], 'B itself did nothing wrong');
});
