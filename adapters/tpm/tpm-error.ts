/**
 * Errors of the TPM adapter. Every message starts `tpm(tpm2-tools): ` and
 * names the tool and what it was doing; none ever carries key material or an
 * activated secret (tool output is trimmed to its stderr, where tpm2-tools
 * writes only diagnostics).
 */
import { HolonError } from '../../bus-schemas/errors.js';

export const TPM_ERROR_CODES = {
  /** A tpm2-tools command exited non-zero or timed out. */
  tool: 'HOLON_E_TPM_TOOL',
  /** A tpm2-tools binary is not installed. */
  missing: 'HOLON_E_TPM_MISSING',
  /** The attestor was configured wrongly (state dir, algorithm, TCTI). */
  config: 'HOLON_E_TPM_CONFIG',
  /** The TPM answered, but not what we asked (wrong selection, missing AK, short output). */
  state: 'HOLON_E_TPM_STATE',
} as const;

export type TpmErrorKind = keyof typeof TPM_ERROR_CODES;

const MAX_STDERR = 2000;

export class TpmError extends HolonError {
  readonly kind: TpmErrorKind;
  /** The tool that failed, e.g. `tpm2_quote`, or the option for config errors. */
  readonly tool: string;
  readonly exitCode: number | undefined;
  /** tpm2-tools' diagnostics (stderr), trimmed. */
  readonly stderr: string;

  constructor(kind: TpmErrorKind, tool: string, message: string, extra: { exitCode?: number; stderr?: string; cause?: unknown } = {}) {
    super(TPM_ERROR_CODES[kind], `tpm(tpm2-tools): ${tool}: ${message}`, { cause: extra.cause });
    this.kind = kind;
    this.tool = tool;
    this.exitCode = extra.exitCode;
    const stderr = (extra.stderr ?? '').trim();
    this.stderr = stderr.length > MAX_STDERR ? `${stderr.slice(0, MAX_STDERR)}…` : stderr;
  }

  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, kind: this.kind, tool: this.tool, exit_code: this.exitCode, stderr: this.stderr };
  }
}
