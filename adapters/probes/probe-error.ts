/**
 * Errors of the host probes. Every message starts `probes(<name>): ` where
 * name is the probe that failed, `config` for a bad option, or `report` when
 * the merged facts do not make a valid PlatformReportV1 / ResourceCapacityV1.
 */
import { HolonError } from '../../bus-schemas/errors.js';

export const PROBE_ERROR_CODES = {
  /** An essential probe (os, cpu, memory) threw, timed out or returned invalid facts. */
  failed: 'HOLON_E_PROBE_FAILED',
  /** The probe manager was configured wrongly (data dir, labels, tools, reserves). */
  config: 'HOLON_E_PROBE_CONFIG',
  /** The merged facts do not build a valid report or capacity (names the field). */
  report: 'HOLON_E_PROBE_REPORT',
} as const;

export type ProbeErrorKind = keyof typeof PROBE_ERROR_CODES;

export class ProbeError extends HolonError {
  readonly kind: ProbeErrorKind;
  /** The probe that failed, `config`, or `report`. */
  readonly probe: string;
  /** JSON path of the offending field when one is known (`$.cpu_cores`, `labels.zone`). */
  readonly field: string | undefined;
  readonly timedOut: boolean;

  constructor(kind: ProbeErrorKind, probe: string, message: string, extra: { field?: string; timedOut?: boolean; cause?: unknown } = {}) {
    super(PROBE_ERROR_CODES[kind], `probes(${probe}): ${message}`, { cause: extra.cause });
    this.kind = kind;
    this.probe = probe;
    this.field = extra.field;
    this.timedOut = extra.timedOut ?? false;
  }

  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, kind: this.kind, probe: this.probe, field: this.field, timed_out: this.timedOut };
  }
}

/** A probe timed out; the manager turns it into a warning or a fatal ProbeError. */
export class ProbeTimeoutError extends HolonError {
  static readonly CODE = 'HOLON_E_PROBE_TIMEOUT';
  readonly probe: string;
  readonly timeoutMs: number;
  constructor(probe: string, timeoutMs: number) {
    super(ProbeTimeoutError.CODE, `probes(${probe}): timed out after ${timeoutMs} ms`);
    this.probe = probe;
    this.timeoutMs = timeoutMs;
  }
}

/** The text of any thrown value, for warnings and messages (never a stack). */
export function describeFailure(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === 'string' ? e : `non-error value thrown (${typeof e})`;
}
