import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectBus } from '../../adapters/nats/connect.js';
import { declareStream } from '../../adapters/nats/declare.js';
import { auditLedger, openLedgerReplay } from '../../adapters/nats/ledger-replay.js';
import { LedgerWriter } from '../../adapters/nats/ledger-writer.js';
import { systemClock } from '../../bus-schemas/clock.js';
import { encodeId, type HolonIdV1 } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed } from '../../bus-schemas/keys.js';
import { ledgerStream } from '../../bus-schemas/streams.js';
import { ledgerSubject } from '../../bus-schemas/subjects.js';
import { LedgerEntryV1 } from '../../bus-schemas/v1/ledger-entry.js';
import { startNatsCluster } from '../harness/nats-cluster.js';
import { captureLogger } from './bus-fixture.js';

const cell = signerFromSeed(generateEd25519().seed);
const cellKey = encodeId('key', cell.publicKey);
const holon = encodeId('holon', generateEd25519().publicKey);

/** Retry `fn` while the cluster elects a new leader (timeouts, no responders), up to `ms`. */
async function eventually<T>(fn: () => Promise<T>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(250);
    }
  }
}

void t.test('R3 LEDGER on a 3-node cluster survives killing a node', async (t) => {
  const cluster = await startNatsCluster();
  const { logger } = captureLogger('warn');
  const conn = await connectBus({ servers: cluster.urls, name: 'cluster-test', logger, timeoutMs: 3000 });
  t.teardown(async () => {
    await conn.close();
    await cluster.stop();
  });

  const declared = await eventually(() => declareStream(conn, ledgerStream({ replicas: 3 })));
  t.equal(declared.action, 'created');
  const si = await conn.jsm.streams.info('LEDGER');
  t.equal(si.config.num_replicas, 3);
  t.equal(si.cluster?.replicas?.length, 2, 'a leader and two followers');

  const writer = new LedgerWriter(conn, { signer: cell, clock: systemClock, timeoutMs: 2000 });
  // A new R3 stream may still be electing its leader (nats-server 2.10+ answers "no responders" meanwhile).
  await eventually(() => conn.jsm.streams.info('LEDGER').then((i) => (i.cluster?.leader !== undefined ? i : Promise.reject(new Error('no leader yet')))));
  for (let i = 0; i < 20; i++) await eventually(() => writer.append(holon, 'METERED', { i }));

  // Racing writers, one per node. nats-server 2.9 clusters do not serialize
  // expected-last-subject-sequence (nats-server#4320): forks may happen, and
  // whatever happens the audit must report exactly the entries that forked.
  const racers = await Promise.all([0, 1, 2, 3].map((i) => connectBus({ servers: [cluster.urls[i % 3] as string], logger })));
  t.teardown(() => Promise.all(racers.map((c) => c.close())));
  const race = async (serialize: 'subject' | 'stream'): Promise<{ owner: HolonIdV1; entries: number }> => {
    const owner = encodeId('holon', generateEd25519().publicKey);
    const ws = racers.map((c) => new LedgerWriter(c, { signer: cell, clock: systemClock, serialize, maxAttempts: 200 }));
    await Promise.all(ws.map(async (w, k) => {
      for (let i = 0; i < 25; i++) await w.append(owner, 'METERED', { k, i });
    }));
    return { owner, entries: 100 };
  };

  const loose = await race('subject');
  const replay = await openLedgerReplay(conn, { subject: ledgerSubject(loose.owner) });
  const seen = new Set<number>();
  let duplicates = 0;
  for await (const r of replay.records) {
    const seq = LedgerEntryV1.decode(r.data).seq;
    if (seen.has(seq)) duplicates += 1;
    seen.add(seq);
  }
  const looseReport = await auditLedger(conn, { subject: ledgerSubject(loose.owner) });
  t.comment(`subject mode, 4 racing writers on R3: ${duplicates} forked entries, breaks ${JSON.stringify(looseReport.breaks_by_reason)}`);
  t.equal(looseReport.entries, 100);
  t.equal(looseReport.breaks_by_reason.SEQ_REWIND ?? 0, duplicates, 'the audit names every forked entry');
  t.equal(looseReport.breaks === 0, duplicates === 0, 'a clean audit means no fork, and only then');

  const strict = await race('stream');
  const strictReport = await auditLedger(conn, { subject: ledgerSubject(strict.owner), trustedWriters: [cellKey] });
  t.match(strictReport, { entries: 100, valid: 100, breaks: 0 }, "serialize: 'stream' gives one chain even on a 2.9 cluster");

  // Kill the stream leader: the worst node to lose.
  const leader = (await conn.jsm.streams.info('LEDGER')).cluster?.leader;
  t.ok(leader, `stream leader is ${String(leader)}`);
  const victim = cluster.node(leader as string);
  await victim.kill9();
  t.notOk(victim.running, 'leader killed with SIGKILL');

  for (let i = 20; i < 40; i++) {
    await eventually(() => writer.append(holon, 'METERED', { i }));
  }
  const during = await eventually(() => auditLedger(conn, { subject: ledgerSubject(holon), trustedWriters: [cellKey] }));
  t.match(during.per_owner[holon], { entries: 40, valid: 40, breaks: 0 }, 'every entry from before and after the crash, one unbroken chain');
  const newLeader = (await conn.jsm.streams.info('LEDGER')).cluster?.leader;
  t.not(newLeader, leader, `a new leader took over (${String(newLeader)})`);

  await victim.restart({ skipHealth: true });
  await cluster.waitReady();
  await eventually(async () => {
    const info = await conn.jsm.streams.info('LEDGER');
    const back = info.cluster?.replicas?.find((r) => r.name === victim.name);
    if (back?.current !== true) throw new Error(`${victim.name} not caught up yet`);
  });
  t.pass(`${victim.name} restarted on the same store and caught up`);
  for (let i = 40; i < 45; i++) await eventually(() => writer.append(holon, 'METERED', { i }));
  t.match(await auditLedger(conn, { subject: ledgerSubject(holon) }), { entries: 45, breaks: 0 });
});
