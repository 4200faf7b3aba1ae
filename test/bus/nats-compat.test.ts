/**
 * Which nats-server the tests run on, and the old one that may still be around:
 *  - the harness's choice (the newest nats-server on this machine, or
 *    $NATS_SERVER_BIN) is 2.10 or newer, and is what actually runs — so CI
 *    proves the bus tests are not on Debian 12's 2.9.10 (deploy/install-deps.sh
 *    builds 2.15.3 when Go is there);
 *  - Debian's 2.9.10 (/usr/sbin/nats-server), started through the harness with
 *    an explicit binary, still does the minimum the project relies on: the
 *    holonet streams declared, one ledger entry appended (a re-send collapses
 *    by Nats-Msg-Id) and read back by `last_by_subj`, also after a kill -9 and
 *    restart. Skipped, with the reason, where that binary is absent.
 */
import t from 'tap';
import { connectBus } from '../../adapters/nats/connect.js';
import { declareStreams } from '../../adapters/nats/declare.js';
import { LedgerWriter } from '../../adapters/nats/ledger-writer.js';
import { systemClock } from '../../bus-schemas/clock.js';
import { encodeId } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed } from '../../bus-schemas/keys.js';
import { holonetStreams } from '../../bus-schemas/streams.js';
import { MIN_NATS_SERVER, compareVersions, findNatsServer, legacyNatsServer, natsServerVersion, startNatsServer } from '../harness/nats-server.js';
import { captureLogger } from './bus-fixture.js';

const BIN = findNatsServer();
const VERSION = natsServerVersion(BIN) ?? '(no version)';
const LEGACY = legacyNatsServer();

void t.test(`the tests' nats-server is ${MIN_NATS_SERVER} or newer (${BIN} ${VERSION})`, async (t) => {
  t.ok(
    VERSION !== '(no version)' && compareVersions(VERSION, MIN_NATS_SERVER) >= 0,
    `${BIN} is ${VERSION}: the bus tests need >= ${MIN_NATS_SERVER} (as root: bash deploy/install-deps.sh)`,
  );
  const server = await startNatsServer();
  t.teardown(() => server.stop());
  t.equal(server.bin, BIN, 'the harness starts the binary it chose');
  const varz = (await server.monitor('/varz')) as { version?: string };
  t.equal(varz.version, VERSION, 'and the running server reports that version');
});

void t.test(
  `Debian's nats-server ${'version' in LEGACY ? LEGACY.version : ''}: streams, a ledger append and last_by_subj, across a restart`,
  { skip: 'skip' in LEGACY ? LEGACY.skip : false },
  async (t) => {
    if (!('bin' in LEGACY)) return;
    const server = await startNatsServer({ bin: LEGACY.bin, name: 'compat' });
    t.teardown(() => server.stop());
    t.equal(((await server.monitor('/varz')) as { version?: string }).version, LEGACY.version, `running ${LEGACY.bin}`);
    const { logger } = captureLogger();
    const open = () => connectBus({ servers: server.url, name: 'holonet-compat', logger });

    const conn = await open();
    const declared = await declareStreams(conn, holonetStreams());
    t.same(
      declared.map((r) => r.action),
      declared.map(() => 'created'),
      `every holonet stream declared (${declared.map((r) => r.stream).join(', ')})`,
    );
    const signer = signerFromSeed(generateEd25519().seed);
    const owner = encodeId('holon', generateEd25519().publicKey);
    const writer = new LedgerWriter(conn, { signer, clock: systemClock, trustedWriters: [encodeId('key', signer.publicKey)] });
    const prepared = await writer.prepare(owner, 'COMPAT_CHECK', { server: LEGACY.version });
    t.match(await writer.commit(prepared), { duplicate: false, stream_seq: 1, entry: { seq: 1 } }, 'appended');
    t.match(await writer.commit(prepared), { duplicate: true, stream_seq: 1 }, 'a re-send collapses (Nats-Msg-Id)');
    const fresh = new LedgerWriter(conn, { signer, clock: systemClock });
    t.match(await fresh.readHead(owner), { seq: 1, digest: prepared.sealed.digest, streamSeq: 1 }, 'read back by last_by_subj');
    await conn.close();

    await server.kill9();
    await server.restart();
    const again = await open();
    t.teardown(() => again.close());
    const after = new LedgerWriter(again, { signer, clock: systemClock });
    t.match(await after.readHead(owner), { seq: 1, digest: prepared.sealed.digest, streamSeq: 1 }, 'and after kill -9 and restart');
    t.match(await after.append(owner, 'COMPAT_CHECK', { after: 'restart' }), { duplicate: false, stream_seq: 2, entry: { seq: 2, prev: prepared.sealed.digest } }, 'the chain goes on');
  },
);
