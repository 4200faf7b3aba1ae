/**
 * bus-schemas/log-budget: a flood of refusals is logged in full only within
 * a burst per kind and interval; the rest is counted and summarized once per
 * interval; an attacker who varies the kind is capped too.
 */
import t from 'tap';
import { LogBudget } from '../../bus-schemas/log-budget.js';

void t.test('a burst per kind in full, then counts, summarized when the interval closes', async (t) => {
  const b = new LogBudget({ burst: 3, intervalMs: 1000, maxKinds: 4 });
  const logged = Array.from({ length: 10 }, (_, i) => b.note('malformed', 100 + i).log);
  t.same(logged, [true, true, true, false, false, false, false, false, false, false], 'three in full, seven counted');
  t.ok(b.note('bad-seal', 200).log, 'another kind has its own burst');
  const next = b.note('malformed', 1200);
  t.ok(next.log, 'a new interval starts a new burst');
  t.match(next.summary, { since: 100, intervalMs: 1000, suppressed: { malformed: 7 }, total: 11 }, 'the closed interval is summarized once');
  t.equal(b.flush(1500), undefined, 'nothing to say before the interval ends');
  for (let i = 0; i < 5; i++) b.note('malformed', 1300);
  t.match(b.flush(2300), { suppressed: { malformed: 3 }, total: 6 }, 'a flush closes the last interval of a flood');
  t.equal(b.flush(9999), undefined, 'and says it only once');
});

void t.test('varying the kind does not buy more log lines', async (t) => {
  const b = new LogBudget({ burst: 2, intervalMs: 1000, maxKinds: 4 });
  let lines = 0;
  for (let i = 0; i < 10_000; i++) if (b.note(`kind-${i}`, 10).log) lines += 1;
  t.equal(lines, 4 + 2, 'four kinds in full (one line each), then "other" gets one burst of two');
  t.match(b.flush(2000), { suppressed: { other: 10_000 - 4 - 2 } });
});
