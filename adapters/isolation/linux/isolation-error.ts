/**
 * The one error class of the Linux isolation adapter. Every message starts
 * `isolation(linux): <unit>: <step>: ` so an operator sees which unit and
 * which step of which operation failed (e.g. `create/network`,
 * `destroy/verify`), followed by what was found and the tail of a tool's
 * stderr. Never carries file contents or environment values.
 */
import { HolonError } from '../../../bus-schemas/errors.js';

export const ISOLATION_ERROR_CODE = 'HOLON_E_ISOLATION';

/**
 * - `refused`: the request cannot be honoured (bad name, bad spec, path escape); refused before any change.
 * - `not-found`: the unit does not exist.
 * - `state`: the unit is in a state that does not allow the call (stopped, frozen), or the system
 *   does not show what a call should have produced (re-check after a mutating call failed).
 * - `command`: a tool (ip, the unit init) failed or timed out.
 * - `system`: a kernel interface (cgroupfs, sysfs, procfs, the unit directory) refused a read or write.
 * - `config`: the adapter was constructed with a bad option or the host lacks what it needs.
 */
export type IsolationErrorKind = 'refused' | 'not-found' | 'state' | 'command' | 'system' | 'config';

const STDERR_TAIL = 600;

export function stderrTail(stderr: string): string {
  const s = stderr.trim();
  return s.length > STDERR_TAIL ? `…${s.slice(s.length - STDERR_TAIL)}` : s;
}

export class IsolationError extends HolonError {
  static readonly CODE = ISOLATION_ERROR_CODE;
  readonly kind: IsolationErrorKind;
  /** the unit name as given (possibly invalid), or `-` for adapter-wide errors */
  readonly unit: string;
  /** `<operation>/<step>`, e.g. `create/cgroup`, `writeFile/path`, `destroy/verify` */
  readonly step: string;
  readonly exitCode: number | undefined;
  readonly stderr: string;

  constructor(
    kind: IsolationErrorKind,
    unit: string,
    step: string,
    message: string,
    extra: { exitCode?: number; stderr?: string; cause?: unknown } = {},
  ) {
    const tail = stderrTail(extra.stderr ?? '');
    const exit = extra.exitCode === undefined ? '' : ` (exit ${extra.exitCode})`;
    const shownUnit = JSON.stringify(unit).slice(1, -1).slice(0, 64);
    super(ISOLATION_ERROR_CODE, `isolation(linux): ${shownUnit}: ${step}${exit}: ${message}${tail === '' ? '' : ` — stderr: ${tail}`}`, {
      cause: extra.cause,
    });
    this.kind = kind;
    this.unit = unit;
    this.step = step;
    this.exitCode = extra.exitCode;
    this.stderr = tail;
  }

  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, kind: this.kind, unit: this.unit, step: this.step, exit_code: this.exitCode, stderr: this.stderr };
  }
}

/** errno code of a Node system error, if any. */
export function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? (e as { code: string }).code : undefined;
}
