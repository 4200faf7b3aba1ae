/**
 * The nats-server samples in deploy/nats/, checked by nats-server itself:
 *  - `nats-server -t` on the tests' server (the newest on this machine, which
 *    must be >= 2.10) accepts the development config, and the production
 *    config as shipped — `sync_interval: always` included — with a generated
 *    operator.conf;
 *  - Debian 12's 2.9.10 (/usr/sbin/nats-server, where installed) refuses the
 *    production config for `sync_interval` alone (which is why the file says
 *    2.10+ and how to run it on 2.9 anyway);
 *  - the development config, rewritten to a temp store and random ports,
 *    comes up healthy with JetStream and the limits it declares;
 *  - three nodes started from the production config (ports, hosts and paths
 *    rewritten, nothing else) form a cluster with a JetStream meta leader
 *    that fsyncs before every ack, and a holon's user JWT signed by its
 *    cell's scoped signing key may use holon.<id>.> and is refused anything
 *    else — the verification path the config's comments describe;
 *  - the same three nodes with `holonctl init`'s nats/auth.conf as their
 *    operator.conf (docs/deploy.md's production steps): the orchestrator's
 *    admin credential reaches JetStream, holonctl's sends the cell's requests.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds, newScopedSigner } from '@nats-io/jwt';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { freePorts } from '../harness/nats-cluster.js';
import { MIN_NATS_SERVER, NatsServer, compareVersions, findNatsServer, legacyNatsServer, natsServerVersion } from '../harness/nats-server.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { adminGrant, operatorGrant, orchestratorServeGrant } from '../../bus-schemas/grants.js';
import { CellCertificateV1 } from '../../bus-schemas/v1/cell-certificate.js';
import { holonctlExact, loadKey } from '../cli/init-helpers.js';
import { REPO, makeTempDir } from './staging.js';

const NATS = join(REPO, 'deploy/nats');
const DEV = readFileSync(join(NATS, 'nats-server-dev.conf'), 'utf8');
const CLUSTER = readFileSync(join(NATS, 'nats-server-cluster.conf'), 'utf8');
const BIN = findNatsServer();
const VERSION = natsServerVersion(BIN) ?? '(no version)';
/** Debian's 2.9.10, where installed: the only server allowed to object to sync_interval. */
const LEGACY = legacyNatsServer();

/** Replace `pattern` and insist it matched exactly `count` times: the samples' shape is part of the test. */
function rewrite(text: string, pattern: RegExp, replacement: string, count: number): string {
  const matches = text.match(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`));
  if ((matches?.length ?? 0) !== count) throw new Error(`expected ${count} match(es) of ${pattern} in the sample, found ${matches?.length ?? 0}`);
  return text.replace(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`), replacement);
}

/** `nats-server -t -c file`: exit status and what it printed. */
function testConfig(file: string, bin = BIN): { status: number | null; out: string } {
  const r = spawnSync(bin, ['-t', '-c', file], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

const LIMITS = { conn: -1, leaf: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true };

/** An operator, its system account and a cell account with a scoped signing key for holons. */
async function makeTrust(): Promise<{ operatorConf: string; userCreds: (holonId: string) => Promise<Uint8Array> }> {
  const operator = createOperator();
  const sys = createAccount();
  const cell = createAccount();
  const holonSigner = createAccount();
  const opJwt = await encodeOperator('holonet-test', operator, { system_account: sys.getPublicKey() });
  const sysJwt = await encodeAccount('SYS', sys, { limits: LIMITS }, { signer: operator });
  // Account JWTs must carry explicit limits: without them nats-server reads 0 connections.
  const scoped = newScopedSigner(holonSigner, 'holon', {
    pub: { allow: ['holon.{{name()}}.>'] },
    sub: { allow: ['holon.{{name()}}.>', '_INBOX.>'] },
  });
  const cellJwt = await encodeAccount('cell', cell, { limits: LIMITS, signing_keys: [scoped] }, { signer: operator });
  const operatorConf = [
    `operator: "${opJwt}"`,
    `system_account: ${sys.getPublicKey()}`,
    'resolver_preload: {',
    `  ${sys.getPublicKey()}: "${sysJwt}"`,
    `  ${cell.getPublicKey()}: "${cellJwt}"`,
    '}',
    '',
  ].join('\n');
  const userCreds = async (holonId: string): Promise<Uint8Array> => {
    const user = createUser();
    const jwt = await encodeUser(holonId, user, holonSigner, { issuer_account: cell.getPublicKey() }, { scopedUser: true });
    return fmtCreds(jwt, user);
  };
  return { operatorConf, userCreds };
}

void t.test(`nats-server ${VERSION} -t: the development config is valid`, async (t) => {
  const r = testConfig(join(NATS, 'nats-server-dev.conf'));
  t.equal(r.status, 0, `valid\n${r.out}`);
});

void t.test('operator.conf.example has the keys a generated operator.conf has', async (t) => {
  const keys = (text: string): string[] => [...text.matchAll(/^([a-z_]+):/gm)].map((m) => m[1] ?? '').sort();
  const { operatorConf } = await makeTrust();
  t.same(keys(readFileSync(join(NATS, 'operator.conf.example'), 'utf8')), keys(operatorConf), 'operator, resolver_preload, system_account');
  t.match(CLUSTER, /^include "operator\.conf"$/m, 'the production config includes it');
});

/** The production config with its paths moved into `dir`, next to a generated operator.conf. */
async function productionConfigIn(dir: string): Promise<string> {
  writeFileSync(join(dir, 'operator.conf'), (await makeTrust()).operatorConf);
  return rewrite(CLUSTER, /\/var\/lib\/nats\//, `${dir}/`, 2);
}

void t.test(`nats-server ${VERSION} -t: the production config as shipped, with a generated operator.conf`, async (t) => {
  t.ok(VERSION !== '(no version)' && compareVersions(VERSION, MIN_NATS_SERVER) >= 0, `${BIN} is ${VERSION}, >= ${MIN_NATS_SERVER} (sync_interval)`);
  const { dir, remove } = makeTempDir('holonet-nats-t-');
  t.teardown(remove);
  writeFileSync(join(dir, 'as-shipped.conf'), await productionConfigIn(dir));
  t.match(readFileSync(join(dir, 'as-shipped.conf'), 'utf8'), /^\s*sync_interval: always\b/m, 'sync_interval included');
  const shipped = testConfig(join(dir, 'as-shipped.conf'));
  t.equal(shipped.status, 0, `valid as shipped\n${shipped.out}`);
});

void t.test(
  `Debian's nats-server ${'version' in LEGACY ? LEGACY.version : ''} -t: the production config fails on sync_interval alone`,
  { skip: 'skip' in LEGACY ? LEGACY.skip : false },
  async (t) => {
    if (!('bin' in LEGACY)) return;
    const { dir, remove } = makeTempDir('holonet-nats-t29-');
    t.teardown(remove);
    const conf = await productionConfigIn(dir);
    writeFileSync(join(dir, 'as-shipped.conf'), conf);
    const shipped = testConfig(join(dir, 'as-shipped.conf'), LEGACY.bin);
    t.not(shipped.status, 0, `${LEGACY.version} refuses the file as shipped (it needs >= ${MIN_NATS_SERVER})`);
    t.match(shipped.out, /as-shipped\.conf:\d+:\d+: unknown field "sync_interval"/, 'because of sync_interval');
    writeFileSync(join(dir, 'for-2.9.conf'), rewrite(conf, /^\s*sync_interval: always.*\n/m, '', 1));
    const older = testConfig(join(dir, 'for-2.9.conf'), LEGACY.bin);
    t.equal(older.status, 0, `and that one line is all it objects to\n${older.out}`);
  },
);

void t.test('the development config runs: healthy, JetStream with its limits', async (t) => {
  const { dir, remove } = makeTempDir('holonet-nats-dev-');
  t.teardown(remove);
  let conf = rewrite(DEV, /^listen: 127\.0\.0\.1:4222$/m, 'listen: 127.0.0.1:-1', 1);
  conf = rewrite(conf, /^http: 127\.0\.0\.1:8222/m, 'http: 127.0.0.1:-1', 1);
  conf = rewrite(conf, /store_dir: "\/var\/tmp\/holonet-nats-dev"/, `store_dir: "${dir}/store"`, 1);
  // jetstream: false → the harness passes no -js/-sd: JetStream must come from the file.
  const server = await NatsServer.start({ name: 'dev', dir, config: conf, jetstream: false });
  t.teardown(() => server.stop());
  const varz = (await server.monitor('/varz')) as {
    max_payload: number;
    jetstream?: { config?: { store_dir: string; max_memory: number; max_storage: number } };
  };
  t.equal(varz.jetstream?.config?.store_dir, join(dir, 'store', 'jetstream'), 'JetStream on, in the configured store');
  t.equal(varz.jetstream?.config?.max_memory, 256 * 1024 ** 2, 'max_memory_store 256MB');
  t.equal(varz.jetstream?.config?.max_storage, 4 * 1024 ** 3, 'max_file_store 4GB');
  t.equal(varz.max_payload, 1024 ** 2, 'max_payload 1MB');
});

/** Three nodes from the production config, each next to `operatorConf`, with a JetStream meta leader; stopped at teardown. */
async function startProductionCluster(t: Test, dir: string, operatorConf: string): Promise<NatsServer[]> {
  const ports = await freePorts(9);
  const port = (node: number, kind: 0 | 1 | 2): number => ports[(node - 1) * 3 + kind] as number;
  const nodes: NatsServer[] = [];
  t.teardown(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });
  for (const i of [1, 2, 3]) {
    const nodeDir = join(dir, `nats-${i}`);
    mkdirSync(nodeDir);
    writeFileSync(join(nodeDir, 'operator.conf'), operatorConf);
    let conf = rewrite(CLUSTER, /^server_name: nats-1\b/m, `server_name: nats-${i}`, 1);
    conf = rewrite(conf, /^listen: 0\.0\.0\.0:4222/m, `listen: 127.0.0.1:${port(i, 0)}`, 1);
    conf = rewrite(conf, /^http: 127\.0\.0\.1:8222/m, `http: 127.0.0.1:${port(i, 1)}`, 1);
    conf = rewrite(conf, /^ {2}listen: 0\.0\.0\.0:6222/m, `  listen: 127.0.0.1:${port(i, 2)}`, 1);
    for (const j of [1, 2, 3]) {
      conf = rewrite(conf, new RegExp(`nats-route://nats-${j}\\.cell\\.example:6222`), `nats-route://127.0.0.1:${port(j, 2)}`, 1);
    }
    conf = rewrite(conf, /\/var\/lib\/nats\//, `${nodeDir}/`, 2);
    // The config file must sit next to operator.conf (include is relative to it).
    writeFileSync(join(nodeDir, 'nats.conf'), conf);
    nodes.push(
      await NatsServer.start({
        name: `nats-${i}`,
        bin: BIN,
        dir: nodeDir,
        jetstream: false,
        args: ['-c', join(nodeDir, 'nats.conf')],
        fixedPorts: { client: port(i, 0), monitor: port(i, 1) },
        skipHealth: true,
      }),
    );
  }

  const deadline = Date.now() + 30_000;
  let leaders: (string | undefined)[] = [];
  while (Date.now() < deadline) {
    leaders = await Promise.all(
      nodes.map(async (n) => ((await n.monitor('/jsz').catch(() => ({}))) as { meta_cluster?: { leader?: string } }).meta_cluster?.leader),
    );
    if (leaders[0] !== undefined && leaders[0] !== '' && leaders.every((l) => l === leaders[0])) break;
    await sleep(100);
  }
  t.ok(leaders[0] !== undefined && leaders[0] !== '' && leaders.every((l) => l === leaders[0]), `all three nodes agree on a meta leader (${JSON.stringify(leaders)})`);
  t.match(leaders[0], /^nats-[123]$/, 'one of the configured server names');
  for (const n of nodes) await n.waitHealthy(deadline);
  return nodes;
}

void t.test('three nodes from the production config: a JetStream cluster that verifies holon credentials', async (t) => {
  const { dir, remove } = makeTempDir('holonet-nats-prod-');
  t.teardown(remove);
  const trust = await makeTrust();
  const nodes = await startProductionCluster(t, dir, trust.operatorConf);
  const varz = (await nodes[1]!.monitor('/varz')) as {
    cluster?: { name?: string };
    jetstream?: { config?: { store_dir?: string; sync_always?: boolean } };
  };
  t.equal(varz.cluster?.name, 'holonet', 'cluster name from the config');
  t.equal(varz.jetstream?.config?.store_dir, join(dir, 'nats-2', 'jetstream', 'jetstream'), 'store_dir from the config');
  t.equal(varz.jetstream?.config?.sync_always, true, 'sync_interval: always in force (fsync before every ack)');

  const holon = 'holon1deploytest';
  const nc = await connect({ servers: nodes[2]!.url, authenticator: credsAuthenticator(await trust.userCreds(holon)) });
  t.teardown(() => nc.close());
  const violations: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') violations.push(JSON.stringify(s));
  })();
  const sub = nc.subscribe(`holon.${holon}.>`, { max: 1 });
  nc.publish(`holon.${holon}.hello`, 'mine');
  let got = '';
  for await (const m of sub) got = m.subject;
  t.equal(got, `holon.${holon}.hello`, 'a holon publishes and subscribes under holon.<its id>.>');
  nc.publish('holon.holon1someoneelse.hello', 'not mine');
  const until = Date.now() + 5000;
  while (violations.length === 0 && Date.now() < until) {
    await nc.flush();
    await sleep(50);
  }
  t.match(violations.join('\n'), /PermissionViolation.*holon\.holon1someoneelse\.hello|holon\.holon1someoneelse\.hello.*PermissionViolation/, 'and is refused another holon\'s subjects by the server');
});

void t.test('three nodes with holonctl init\'s auth.conf as operator.conf: the cell\'s credentials work', async (t) => {
  const { dir, remove } = makeTempDir('holonet-nats-init-');
  t.teardown(remove);
  const cell = join(dir, 'orchestrator');
  const init = holonctlExact(['init', '--dir', cell, '--principal-dir', join(dir, 'principal'), '--cell-name', 'prod']);
  t.equal(init.status, 0, init.stderr);
  const nodes = await startProductionCluster(t, dir, readFileSync(join(cell, 'nats/auth.conf'), 'utf8'));
  const cellId = CellCertificateV1.decode(readFileSync(join(cell, 'cell-certificate.json'), 'utf8').trim()).cell_id;
  const admin = await connect({ servers: nodes[0]!.url, authenticator: credsAuthenticator(readFileSync(join(cell, 'nats/orchestrator-admin.creds'))), inboxPrefix: adminGrant(cellId).inboxPrefix });
  t.teardown(() => admin.close());
  // A fresh cluster enables JetStream for an account once every node has resolved its JWT: wait for it (10 s).
  const accountInfo = async (): Promise<Awaited<ReturnType<Awaited<ReturnType<typeof jetstreamManager>>['getAccountInfo']>>> => {
    for (let i = 0; ; i++) {
      try {
        return await (await jetstreamManager(admin)).getAccountInfo();
      } catch (e) {
        if (i >= 50 || !/JetStream not enabled/.test((e as Error).message)) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const info = await accountInfo();
  t.ok(info.limits.max_storage !== 0 || info.limits.max_memory !== 0, 'the orchestrator\'s admin user reaches JetStream in the cell account');
  const principal = loadKey(join(dir, 'principal/keys/principal.key')).keyId;
  const operator = await connect({ servers: nodes[1]!.url, authenticator: credsAuthenticator(readFileSync(join(dir, 'principal/nats/holonctl.creds'))), inboxPrefix: operatorGrant(principal).inboxPrefix });
  t.teardown(() => operator.close());
  const serve = await connect({ servers: nodes[2]!.url, authenticator: credsAuthenticator(readFileSync(join(cell, 'nats/orchestrator-serve.creds'))), inboxPrefix: orchestratorServeGrant(cellId).inboxPrefix });
  t.teardown(() => serve.close());
  const watch = serve.subscribe('api.>', { max: 1 });
  await serve.flush();
  operator.publish('api.machines.list', 'x');
  await operator.flush();
  let got = '';
  for await (const m of watch) got = m.subject;
  t.equal(got, 'api.machines.list', 'holonctl\'s credential (in the principal dir) sends the cell\'s requests, the orchestrator\'s serving user takes them');
});
