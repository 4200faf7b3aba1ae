import type { Test } from 'tap';
import type { HolonError } from '../../../bus-schemas/errors.js';
import { refuses } from '../../helpers/refuses.js';

type Expected = Parameters<typeof refuses>[2];

/**
 * Like `refuses`, but string fields (path, reason, code) must be equal, not
 * merely contained: `$.a` must not pass for a refusal at `$.a.b`.
 */
export function refusesExactly(t: Test, fn: () => unknown, expected: Expected, message?: string): HolonError | undefined {
  const e = refuses(t, fn, expected, message);
  if (e !== undefined && typeof expected === 'object') {
    for (const [k, v] of Object.entries(expected)) {
      if (typeof v === 'string') t.equal((e as unknown as Record<string, unknown>)[k], v, `${message ?? 'refusal'}: exact ${k}`);
    }
  }
  return e;
}
