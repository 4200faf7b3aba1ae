/**
 * The one error class of the Bastille adapter. Every message starts
 * `isolation(bastille): ` and names what failed: the command line (program
 * and subcommand, never file contents or environment), its exit code and the
 * tail of its stderr, or the state that was found instead of the expected one.
 */
import { HolonError } from '../../../bus-schemas/errors.js';

export const BASTILLE_ERROR_CODE = 'HOLON_E_ISOLATION_BASTILLE';

/**
 * - `command`: a tool exited non-zero, was killed or timed out.
 * - `missing`: a tool is not installed (ENOENT).
 * - `state`: the tool said yes but the system says no (Bastille exits 0 on some failures).
 * - `refused`: the request cannot be honoured (bad name, path escape, jail not ours); refused before any call.
 * - `config`: the adapter was constructed with a bad option.
 */
export type BastilleErrorKind = 'command' | 'missing' | 'state' | 'refused' | 'config';

const STDERR_TAIL = 600;

export function stderrTail(stderr: string): string {
  const s = stderr.trim();
  return s.length > STDERR_TAIL ? `…${s.slice(s.length - STDERR_TAIL)}` : s;
}

export class BastilleError extends HolonError {
  static readonly CODE = BASTILLE_ERROR_CODE;
  readonly kind: BastilleErrorKind;
  /** e.g. `bastille create`, `rctl -a`, or the unit/option for refusals */
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly stderr: string;

  constructor(kind: BastilleErrorKind, command: string, message: string, extra: { exitCode?: number; stderr?: string; cause?: unknown } = {}) {
    const tail = stderrTail(extra.stderr ?? '');
    const exit = extra.exitCode === undefined ? '' : ` (exit ${extra.exitCode})`;
    super(BASTILLE_ERROR_CODE, `isolation(bastille): ${command}${exit}: ${message}${tail === '' ? '' : ` — stderr: ${tail}`}`, { cause: extra.cause });
    this.kind = kind;
    this.command = command;
    this.exitCode = extra.exitCode;
    this.stderr = tail;
  }

  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, kind: this.kind, command: this.command, exit_code: this.exitCode, stderr: this.stderr };
  }
}
