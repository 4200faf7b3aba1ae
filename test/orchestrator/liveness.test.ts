/**
 * Liveness from heartbeats (DESIGN §7): a machine not heard from for the
 * window — since its last heartbeat, or since the cell started — is
 * unreachable; only a verified heartbeat of an enrolled machine, on its own
 * subject, counts.
 */
import t from 'tap';
import { convertId, encodeId } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed } from '../../bus-schemas/keys.js';
import { HeartbeatV1 } from '../../bus-schemas/v1/heartbeat.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { Liveness } from '../../orchestrator/metering/liveness.js';

const T0 = 1_800_000_000_000;
const machine = signerFromSeed(generateEd25519().seed);
const machineId = encodeId('key', machine.publicKey);
const subject = `evt.${convertId(machineId, 'holon')}.heartbeat`;
const beat = (signer = machine, seq = 1): Uint8Array => {
  const id = encodeId('key', signer.publicKey);
  return HeartbeatV1.encode(HeartbeatV1.seal({ holon_id: convertId(id, 'holon'), machine_id: id, seq, started_at: timeAt(T0), sent_at: timeAt(T0 + seq) }, signer));
};

void t.test('reachable while heard from; unreachable after the window; a heartbeat brings it back', async (t) => {
  const l = new Liveness({ now: T0, unreachableAfterMs: 30_000 });
  const enrolled = (id: string): boolean => id === machineId;
  t.same(l.of(machineId, T0 + 10_000), { reachable: true, last_seen: null }, 'a fresh cell gives every machine the window');
  t.same(l.of(machineId, T0 + 31_000), { reachable: false, last_seen: null }, 'never heard since the start: unreachable');
  t.ok(l.heartbeat(subject, beat(), enrolled, T0 + 40_000));
  t.same(l.of(machineId, T0 + 41_000), { reachable: true, last_seen: T0 + 40_000 });
  t.equal(l.of(machineId, T0 + 71_000).reachable, false, '31 s after the last heartbeat');
  l.seen(machineId, T0 + 70_000); // a metering batch counts as well
  t.equal(l.of(machineId, T0 + 71_000).reachable, true);
});

void t.test('only a verified heartbeat of an enrolled machine on its own subject counts', async (t) => {
  const l = new Liveness({ now: T0, unreachableAfterMs: 30_000 });
  const other = signerFromSeed(generateEd25519().seed);
  const otherId = encodeId('key', other.publicKey);
  const enrolled = (id: string): boolean => id === machineId || id === otherId;
  t.notOk(l.heartbeat(subject, beat(other), enrolled, T0 + 1), "another machine's heartbeat on this machine's subject");
  t.notOk(l.heartbeat(`evt.${convertId(otherId, 'holon')}.heartbeat`, beat(signerFromSeed(generateEd25519().seed)), enrolled, T0 + 1), 'a machine not enrolled here');
  const bytes = beat();
  const tampered = new TextEncoder().encode(new TextDecoder().decode(bytes).replace('"seq":1', '"seq":2'));
  t.notOk(l.heartbeat(subject, tampered, enrolled, T0 + 1), 'changed after sealing');
  t.notOk(l.heartbeat(subject, new TextEncoder().encode('{"seq":1,"seq":1}'), enrolled, T0 + 1), 'malformed');
  t.equal(l.refused, 4);
  t.equal(l.of(machineId, T0 + 1).last_seen, null, 'none of them counted');
});
