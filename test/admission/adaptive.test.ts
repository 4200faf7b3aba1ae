/**
 * Adaptive admission difficulty (bus-schemas/admission/adaptive.ts) under a
 * fake clock: quiet → base; 10× the normal rate → base + 3 bits
 * (floor(log2 10)); quiet again → back to base. Only distinct admitted
 * machine keys count.
 */
import t from 'tap';
import {
  ADMISSION_DEFAULTS,
  AdmissionRateWindow,
  admissionSettings,
  extraBits,
  requirementAt,
  type AdmissionSettings,
} from '../../bus-schemas/admission/adaptive.js';
import type { AdmissionRequirement } from '../../bus-schemas/admission/requirement.js';
import { ManualClock } from '../../bus-schemas/clock.js';
import { PolicyV1 } from '../../bus-schemas/v1/policy.js';
import { policy as samplePolicy } from '../bus-schemas/v1/samples.js';

const MINUTE = 60_000;
const bits = (r: AdmissionRequirement): number => (r.kind === 'hashcash' ? r.difficulty : Number.NaN);

/** Admit `perMinute` distinct machines per minute for `minutes`, evenly spaced; returns the requirement seen by each hello. */
function drive(window: AdmissionRateWindow, clock: ManualClock, s: AdmissionSettings, perMinute: number, minutes: number, tag: string): AdmissionRequirement[] {
  const seen: AdmissionRequirement[] = [];
  const step = MINUTE / perMinute;
  for (let i = 0; i < perMinute * minutes; i++) {
    const now = clock.now();
    seen.push(requirementAt(s, 7, window.rate(now)));
    window.admit(`${tag}-${i}`, now);
    clock.advance(step);
  }
  return seen;
}

void t.test('policy defaults: a policy without the new fields still parses and gets documented defaults', async (t) => {
  const p = PolicyV1.parse(JSON.parse(new TextDecoder().decode(PolicyV1.encode(samplePolicy()))));
  t.equal(p.admission_normal_rate, undefined);
  t.same(admissionSettings(p), { mode: 'hashcash', baseDifficulty: 16, maxDifficulty: 24, normalRate: 60, vdfIterations: 131_072 });
  t.same(ADMISSION_DEFAULTS, { mode: 'hashcash', normalRate: 60, extraBits: 8, vdfIterations: 131_072 });
  t.same(admissionSettings({ admission_difficulty: 36 }).maxDifficulty, 40, 'the default cap never exceeds 40 bits');
  t.same(admissionSettings({ admission_difficulty: 10, admission_max_difficulty: 12, admission_normal_rate: 5, admission_mode: 'vdf', admission_vdf_iterations: 1000 }), {
    mode: 'vdf',
    baseDifficulty: 10,
    maxDifficulty: 12,
    normalRate: 5,
    vdfIterations: 1000,
  });
});

void t.test('extra bits: one per doubling over the normal rate, exact at powers of two', async (t) => {
  t.equal(extraBits(0, 60), 0);
  t.equal(extraBits(60, 60), 0);
  t.equal(extraBits(119.9, 60), 0);
  t.equal(extraBits(120, 60), 1);
  t.equal(extraBits(600, 60), 3, '10× → floor(log2 10) = 3');
  t.equal(extraBits(960, 60), 4);
  t.equal(extraBits(1e12, 60), 33);
  t.equal(extraBits(100, 0), 0, 'a zero normal rate never raises');
  t.equal(extraBits(Number.NaN, 60), 0);
});

void t.test('10× the normal hello rate: +3 bits while it lasts, back to the base when quiet', async (t) => {
  const s = admissionSettings({ admission_difficulty: 16, admission_normal_rate: 60 });
  const clock = new ManualClock(1_700_000_000_000 - (1_700_000_000_000 % MINUTE));
  const window = new AdmissionRateWindow();

  const normal = drive(window, clock, s, 60, 3, 'normal');
  t.same(new Set(normal.map(bits)), new Set([16]), 'at the normal rate every hello is asked for the base 16 bits');

  const flood = drive(window, clock, s, 600, 4, 'flood');
  const ramp = flood.map(bits);
  for (let i = 1; i < ramp.length; i++) if ((ramp[i] as number) < (ramp[i - 1] as number)) t.fail(`difficulty fell during the flood at hello ${i}`);
  t.equal(ramp[0], 16, 'the first flood hello still sees the base');
  t.same(new Set(ramp.slice(-1200)), new Set([19]), 'after a minute of 10× the cell asks for 16 + 3 bits, steadily');
  t.equal(Math.max(...ramp), 19, 'never more than floor(log2 10) extra bits');

  clock.advance(30_000);
  t.ok(bits(requirementAt(s, 7, window.rate(clock.now()))) >= 18, 'half a minute of quiet: still raised');
  clock.advance(2 * MINUTE);
  t.equal(bits(requirementAt(s, 7, window.rate(clock.now()))), 16, 'two quiet minutes: back to the base');
  t.equal(window.rate(clock.now()), 0);
});

void t.test('the cap, and VDF squarings doubling per extra bit', async (t) => {
  const clock = new ManualClock(0);
  const window = new AdmissionRateWindow();
  const hashcash = admissionSettings({ admission_difficulty: 16, admission_normal_rate: 1, admission_max_difficulty: 18 });
  drive(window, clock, hashcash, 1000, 1, 'burst');
  const rate = window.rate(clock.now());
  t.ok(rate > 900);
  t.same(requirementAt(hashcash, 9, rate), { kind: 'hashcash', epoch: 9, difficulty: 18 }, 'capped at admission_max_difficulty');
  const vdf = admissionSettings({ admission_difficulty: 16, admission_normal_rate: 100, admission_mode: 'vdf', admission_vdf_iterations: 1000 });
  t.same(requirementAt(vdf, 9, 0), { kind: 'vdf', epoch: 9, iterations: 1000 });
  t.same(requirementAt(vdf, 9, 450), { kind: 'vdf', epoch: 9, iterations: 4000 }, '4.5× → 2 extra bits → 4× the squarings');
  t.same(requirementAt(vdf, 9, 1e9), { kind: 'vdf', epoch: 9, iterations: 256_000 }, 'capped at 8 extra bits by default');
});

void t.test('only distinct machine keys count; memory is bounded', async (t) => {
  const w = new AdmissionRateWindow();
  t.equal(w.admit('m1', 1000), true);
  t.equal(w.admit('m1', 2000), false, 'the same key again in the window is not counted');
  t.equal(w.admit('m1', MINUTE + 2000), false, 'nor in the next window');
  t.equal(w.admit('m1', 3 * MINUTE), true, 'counted again once two windows have passed');
  t.equal(w.rate(3 * MINUTE), 1);
  const small = new AdmissionRateWindow({ maxTracked: 2 });
  for (const id of ['a', 'b', 'c', 'd']) small.admit(id, 10);
  t.equal(small.rate(10), 4, 'past maxTracked, hellos are still counted (without remembering the key)');
  t.equal(small.admit('a', 20), false);
  const back = new AdmissionRateWindow();
  back.admit('x', 5 * MINUTE);
  back.admit('y', 4 * MINUTE);
  t.equal(back.rate(4 * MINUTE), 2, 'a clock that steps back stays in the current window');
});
