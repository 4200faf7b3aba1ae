import type { TpmClockInfo } from './tpm-attest.js';
import { TpmVerifyError } from './tpm-verify-error.js';

/**
 * Clock / reset monotonicity between two quotes from the same AK. A TPM's
 * resetCount only grows (one per reboot), restartCount only grows within a
 * boot, and Clock only grows within a boot. A quote that goes backwards
 * means the TPM state was rolled back or cloned (a software TPM copied with
 * its state), or the quote is older than one we already accepted.
 *
 * Across a reboot Clock may legitimately come back lower when the TPM could
 * not save it in time; the TPM then reports safe = NO, so a lower Clock with
 * safe = YES is refused even across reboots.
 *
 * resetCount / restartCount are only meaningful for keys of the endorsement
 * or platform hierarchy (others see obfuscated values); an AK created under
 * the EK qualifies.
 */
export function checkClockProgress(previous: TpmClockInfo, current: TpmClockInfo): void {
  const field = 'TPMS_ATTEST.clockInfo';
  if (current.resetCount < previous.resetCount) {
    throw new TpmVerifyError('clock', field, `resetCount went back from ${previous.resetCount} to ${current.resetCount}`);
  }
  if (current.clock < previous.clock && current.safe) {
    throw new TpmVerifyError('clock', field, `clock went back from ${previous.clock} to ${current.clock} while reported safe`);
  }
  if (current.resetCount > previous.resetCount) return;
  if (current.restartCount < previous.restartCount) {
    throw new TpmVerifyError('clock', field, `restartCount went back from ${previous.restartCount} to ${current.restartCount} within one boot`);
  }
  if (current.restartCount === previous.restartCount && current.clock < previous.clock) {
    throw new TpmVerifyError('clock', field, `clock went back from ${previous.clock} to ${current.clock} within one boot`);
  }
}

/** JSON-safe form of a clock info (for storing the last accepted quote's clock per AK). */
export function clockInfoToJson(c: TpmClockInfo): { clock: string; reset_count: number; restart_count: number; safe: boolean } {
  return { clock: c.clock.toString(), reset_count: c.resetCount, restart_count: c.restartCount, safe: c.safe };
}

export function clockInfoFromJson(j: { clock: string; reset_count: number; restart_count: number; safe: boolean }): TpmClockInfo {
  if (!/^[0-9]{1,20}$/.test(j.clock)) throw new TpmVerifyError('malformed', 'clockInfo.clock', 'not a decimal unsigned integer');
  return { clock: BigInt(j.clock), resetCount: j.reset_count, restartCount: j.restart_count, safe: j.safe };
}
