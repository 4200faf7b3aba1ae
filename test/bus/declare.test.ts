import t from 'tap';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { connectBus } from '../../adapters/nats/connect.js';
import { declareStream, declareStreams, openKv } from '../../adapters/nats/declare.js';
import { BusConfigError, BusConnectError, BusRequestError, StreamConflictError } from '../../adapters/nats/errors.js';
import { holonetStreams, holonStateKv, ledgerStream, SECOND_NS, type StreamDefinition } from '../../bus-schemas/streams.js';
import { refusesAsync } from '../helpers/refuses.js';
import { busFixture, captureLogger } from './bus-fixture.js';

void t.test('streams and KV against a real JetStream', async (t) => {
  const bus = await busFixture(t);
  const conn = await bus.connect();

  await t.test('declaring the holonet streams twice is idempotent', async (t) => {
    const first = await declareStreams(conn, holonetStreams());
    t.same(first.map((r) => r.action), ['created', 'created', 'created', 'created', 'created']);
    const again = await declareStreams(conn, holonetStreams());
    t.same(again.map((r) => r.action), ['unchanged', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);
    const si = await conn.jsm.streams.info('LEDGER');
    t.match(si.config, { deny_delete: true, deny_purge: true, storage: 'file', discard: 'new', allow_rollup_hdrs: false });
    const kv = await openKv(conn, holonStateKv());
    await kv.put('h1', 'RUNNING');
    t.equal((await kv.get('h1'))?.string(), 'RUNNING', 'KV bucket works through @nats-io/kv');
  });

  await t.test('LEDGER refuses delete and purge', async (t) => {
    await conn.js.publish('ledger.x', 'evidence');
    await t.rejects(conn.jsm.streams.deleteMessage('LEDGER', 1), /message delete not permitted/);
    await t.rejects(conn.jsm.streams.purge('LEDGER'), /stream purge not permitted/);
    t.equal((await conn.jsm.streams.info('LEDGER')).state.messages, 1, 'the entry is still there');
  });

  await t.test('compatible differences are updated, incompatible ones named', async (t) => {
    const def: StreamDefinition = { ...ledgerStream(), name: 'T1', subjects: ['t1.>'], deny_delete: false, duplicate_window: 60 * SECOND_NS };
    t.match(await declareStream(conn, def), { action: 'created' });
    const tighter = { ...def, deny_delete: true, duplicate_window: 120 * SECOND_NS };
    t.same(await declareStream(conn, tighter), { stream: 'T1', action: 'updated', changed: ['duplicate_window', 'deny_delete'] });
    t.match((await conn.jsm.streams.info('T1')).config, { deny_delete: true, duplicate_window: 120 * SECOND_NS });
    await refusesAsync(t, () => declareStream(conn, { ...tighter, deny_delete: false }), {
      code: 'HOLON_E_BUS_STREAM_CONFLICT',
      stream: 'T1',
      field: 'deny_delete',
      message: /^bus\(nats\): stream T1: deny_delete is true on the server, we need false \(can be switched on, never off\) \[nats:\/\/127\.0\.0\.1:\d+\]$/,
    });
    const e = await refusesAsync(t, () => declareStream(conn, { ...tighter, storage: 'memory' }), StreamConflictError);
    t.match(e, { field: 'storage', existing: 'file', wanted: 'memory' });
    await refusesAsync(t, () => declareStream(conn, { ...tighter, retention: 'workqueue' }), { field: 'retention' });
  });

  await t.test('R3 on a single server is refused with the server reason', async (t) => {
    await refusesAsync(t, () => declareStream(conn, { ...ledgerStream({ replicas: 3 }), name: 'T3', subjects: ['t3.>'] }), {
      code: BusRequestError.CODE,
      message: /STREAM\.CREATE\.T3: .*replicas/i,
    });
  });
});

void t.test('connect: typed errors with the server, credentials never logged', async (t) => {
  await refusesAsync(t, () => connectBus({ servers: 'http://127.0.0.1:4222' }), { code: BusConfigError.CODE, option: 'servers' });
  await refusesAsync(t, () => connectBus({ servers: 'nats://u:p@127.0.0.1:4222' }), { option: 'servers', message: /credentials in the URL/ });
  await refusesAsync(t, () => connectBus({ servers: 'nats://127.0.0.1:4222', credsFile: '/nonexistent/x.creds' }), {
    option: 'credsFile',
    message: /cannot read \/nonexistent\/x\.creds \(ENOENT\)/,
  });
  await refusesAsync(t, () => connectBus({ servers: 'nats://127.0.0.1:4222', credsFile: 'a', nkeySeedFile: 'b' }), {
    option: 'credsFile+nkeySeedFile',
  });
  await refusesAsync(t, () => connectBus({ servers: 'nats://127.0.0.1:1', reconnect: false, timeoutMs: 1000 }), {
    code: BusConnectError.CODE,
    server: 'nats://127.0.0.1:1',
    message: /^bus\(nats\): cannot connect: .*\[nats:\/\/127\.0\.0\.1:1\]$/,
  });

  const user = createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  const bus = await busFixture(t, { config: `authorization { users = [ { nkey: ${user.getPublicKey()} } ] }\n` });
  const seedFile = join(tmpdir(), `holonet-test-${process.pid}.nk`);
  writeFileSync(seedFile, `${seed}\n`, { mode: 0o600 });
  const { logger, lines } = captureLogger('debug');
  const conn = await connectBus({ servers: bus.server.url, nkeySeedFile: seedFile, logger });
  t.ok(conn.nc.info?.version.startsWith('2.'), 'authenticated with the nkey seed file');
  await conn.close();
  await refusesAsync(t, () => connectBus({ servers: bus.server.url, reconnect: false, logger }), {
    code: BusConnectError.CODE,
    message: /authorization violation/i,
  });
  t.ok(lines.length > 0, 'something was logged');
  t.notOk(lines.some((l) => l.includes(seed) || l.includes(seed.slice(2, 20))), 'the seed never appears in the log');
});

void t.test('connect with a .creds file (operator mode, user JWT) and use JetStream', async (t) => {
  const operator = createOperator();
  const account = createAccount();
  const system = createAccount();
  const user = createUser();
  const operatorJwt = await encodeOperator('holonet-test', operator, { system_account: system.getPublicKey() });
  const limits = { conn: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, leaf: -1 };
  const jetstreamLimits = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };
  const accountJwt = await encodeAccount('cell', account, { limits: { ...limits, ...jetstreamLimits } }, { signer: operator });
  const systemJwt = await encodeAccount('SYS', system, {}, { signer: operator });
  const userJwt = await encodeUser('orchestrator', user, account);
  const config = [
    `operator: ${operatorJwt}`,
    `system_account: ${system.getPublicKey()}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    `  ${account.getPublicKey()}: ${accountJwt}`,
    `  ${system.getPublicKey()}: ${systemJwt}`,
    '}',
    '',
  ].join('\n');
  const bus = await busFixture(t, { config });
  const creds = join(tmpdir(), `holonet-test-${process.pid}.creds`);
  writeFileSync(creds, fmtCreds(userJwt, user), { mode: 0o600 });
  const { logger, lines } = captureLogger('debug');
  const conn = await connectBus({ servers: bus.server.url, credsFile: creds, logger });
  t.teardown(() => conn.close());
  t.match(await declareStream(conn, ledgerStream()), { action: 'created' }, 'JetStream works for the JWT user');
  const seed = new TextDecoder().decode(user.getSeed());
  t.notOk(lines.some((l) => l.includes(seed) || l.includes(userJwt)), 'neither seed nor JWT is logged');
  await refusesAsync(t, () => connectBus({ servers: bus.server.url, reconnect: false, logger }), {
    code: BusConnectError.CODE,
    message: /authorization violation/i,
  });
});
