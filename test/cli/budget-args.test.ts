/**
 * `holonctl provision --budget k=v,…`: the budget in one option, refused as a
 * usage error naming the pair when a key is unknown, repeated or not a count.
 */
import t from 'tap';
import { budgetPairs } from '../../cli/commands/holons.js';
import { UsageError } from '../../cli/command.js';

void t.test('--budget pairs', async (t) => {
  t.same(budgetPairs(undefined), {});
  t.same(budgetPairs('cpu_seconds=60,egress_bytes=1000000'), { cpu_seconds: 60, egress_bytes: 1_000_000 });
  t.same(budgetPairs('gpu_seconds=0'), { gpu_seconds: 0 });
  for (const [bad, why] of [
    ['cpu=1', /expected key=number with key one of cpu_seconds/],
    ['cpu_seconds=1,cpu_seconds=2', /gives cpu_seconds twice/],
    ['cpu_seconds=-1', /non-negative integer/],
    ['cpu_seconds', /expected key=number/],
    ['cpu_seconds=1=2', /expected key=number/],
  ] as const) {
    let err: unknown;
    try {
      budgetPairs(bad);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof UsageError && why.test(err.message), `${bad} is a usage error: ${String(err)}`);
  }
});
