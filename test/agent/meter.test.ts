/**
 * The agent's meter with in-memory ports: counters become monotonic totals
 * across kernel counter resets and agent restarts (the saved pair of raw
 * reading and total), batches are sealed once by the machine key on the
 * machine's EVT subject, numbered without repeats across restarts, and a
 * unit whose usage cannot be read keeps its totals.
 */
import t from 'tap';
import { pino } from 'pino';
import { ManualClock } from '../../bus-schemas/clock.js';
import { convertId, encodeId } from '../../bus-schemas/ids.js';
import { ZERO_USAGE, type UnitUsage } from '../../bus-schemas/units/port.js';
import { ResourceMeteringBatchV1 } from '../../bus-schemas/v1/metering-batch.js';
import { advance, Meter, METER_FILE } from '../../agent/meter.js';
import { SIGNERS } from '../bus-schemas/v1/sample-keys.js';
import { MACHINE, MemoryKeyStore } from './unit-fakes.js';

const HOLON = encodeId('holon', SIGNERS.child.publicKey);

void t.test('advance: a counter that went down was reset; the total keeps growing', async (t) => {
  const u = (cpu: number, egress = 0): UnitUsage => ({ ...ZERO_USAGE, cpuUsageUsec: cpu, egressBytes: egress });
  let s = advance(undefined, HOLON, u(100, 10));
  t.same([s.total.cpuUsageUsec, s.total.egressBytes], [100, 10], 'a first reading is the total');
  s = advance(s, HOLON, u(250, 30));
  t.same([s.total.cpuUsageUsec, s.total.egressBytes], [250, 30]);
  s = advance(s, HOLON, u(40, 5)); // the link was re-made: its counters restart
  t.same([s.total.cpuUsageUsec, s.total.egressBytes], [290, 35], 'after a reset, what it reads is added');
  s = advance(s, HOLON, u(40, 5));
  t.same([s.total.cpuUsageUsec, s.total.egressBytes], [290, 35], 'the same reading again adds nothing');
});

void t.test('batches: one seal, the machine subject, totals and sequence that survive a restart', async (t) => {
  const store = new MemoryKeyStore();
  const published: { subject: string; data: Uint8Array }[] = [];
  let reading: UnitUsage = { ...ZERO_USAGE, cpuUsageUsec: 1_000_000, storageBytes: 4096, gpuNote: 'no GPU is assigned to Linux units' };
  let failing = false;
  const meterOf = (): Meter =>
    new Meter({
      isolation: {
        usage: async (name) => {
          if (failing) throw new Error(`cannot read ${name}`);
          return reading;
        },
      },
      units: async () => [{ unitName: 'u-0123456789ab', holonId: HOLON }],
      store,
      bus: { publish: (subject, data) => void published.push({ subject, data }) },
      signer: SIGNERS.machine,
      machineId: MACHINE,
      hostHolon: convertId(MACHINE, 'holon'),
      clock: new ManualClock(1_800_000_000_000),
      log: pino({ level: 'silent' }),
    });
  const first = meterOf();
  await first.sampleOnce();
  reading = { ...reading, cpuUsageUsec: 1_500_000 };
  await first.sampleOnce();
  const decoded = published.map((p) => ResourceMeteringBatchV1.decode(p.data));
  for (const b of decoded) ResourceMeteringBatchV1.verify(b, MACHINE);
  t.same(
    published.map((p) => p.subject),
    [first.subject, first.subject],
  );
  t.equal(first.subject, `evt.${convertId(MACHINE, 'holon')}.metering`);
  t.same(
    decoded.map((b) => [b.sequence, b.samples[0]?.cpu_usec]),
    [
      [0, 1_000_000],
      [1, 1_500_000],
    ],
  );
  t.equal(decoded[0]?.samples[0]?.gpu_note, 'no GPU is assigned to Linux units', 'why there is no GPU time is said');
  t.equal((await store.read(METER_FILE))?.mode, 0o600);

  // The agent restarts and, meanwhile, the unit's cgroup was re-made: its counter reads low.
  reading = { ...reading, cpuUsageUsec: 200_000 };
  const second = meterOf();
  const [s] = await second.sampleOnce();
  const last = ResourceMeteringBatchV1.decode((published.at(-1) as { data: Uint8Array }).data);
  t.equal(last.sequence, 2, 'numbering continues after the restart');
  t.equal(s?.cpu_usec, 1_700_000, 'the total continues: nothing lost, nothing counted twice');

  failing = true;
  const none = await second.sampleOnce();
  t.same(none, [], 'a unit that cannot be read is not sampled this time');
  failing = false;
  reading = { ...reading, cpuUsageUsec: 300_000 };
  t.equal((await second.sampleOnce())[0]?.cpu_usec, 1_800_000, 'and keeps its totals for the next reading');
});
