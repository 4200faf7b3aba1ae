import type { Test } from 'tap';
import { HolonError } from '../../bus-schemas/errors.js';

type Expected = Record<string, unknown> | (abstract new (...args: never[]) => HolonError);

function check(t: Test, e: unknown, expected: Expected, message?: string): HolonError {
  const what = message ?? 'typed refusal';
  t.type(e, HolonError, what);
  if (typeof expected === 'function') t.type(e, expected, what);
  else t.match(e, expected, what);
  return e as HolonError;
}

/**
 * Assert that `fn` throws a HolonError that is an instance of `expected`, or
 * whose fields match it (exact values or RegExps); return the error.
 */
export function refuses(t: Test, fn: () => unknown, expected: Expected, message?: string): HolonError | undefined {
  try {
    fn();
  } catch (e) {
    return check(t, e, expected, message);
  }
  t.fail(message ?? 'expected a typed refusal, nothing was thrown');
  return undefined;
}

/** Async variant of refuses. */
export async function refusesAsync(
  t: Test,
  fn: () => Promise<unknown>,
  expected: Expected,
  message?: string,
): Promise<HolonError | undefined> {
  try {
    await fn();
  } catch (e) {
    return check(t, e, expected, message);
  }
  t.fail(message ?? 'expected a typed refusal, nothing was thrown');
  return undefined;
}
