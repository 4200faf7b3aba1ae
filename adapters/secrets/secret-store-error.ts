/**
 * Errors of the secret stores. Every message starts `secrets(<store>): ` and
 * names the tenant (when there is one) and what was refused; none ever
 * carries a secret value or the store's bootstrap credential (the session
 * key is redacted from any `bw` diagnostics that reach a message).
 */
import { HolonError } from '../../bus-schemas/errors.js';

export type SecretStoreKind = 'directory' | 'vaultwarden';

/**
 * Why a store refused. Stable strings that scripts and tests may match on;
 * the human detail is in the message.
 */
export type SecretStoreReason =
  /** The tenant id is not a DNS label (path-like, uppercase, NUL, too long). */
  | 'invalid-tenant'
  /** The store itself is configured wrongly (root, session file path, folder, option values). */
  | 'config'
  /** A path would leave the store's root (a symlink pointing out, a swapped directory). */
  | 'escape'
  /** A symlink where a real directory or file is required. */
  | 'symlink'
  /** Not a directory / not a regular file / a hard-linked file. */
  | 'file-type'
  /** Too open (group/world-writable, secret file readable by others) or owned by someone else. */
  | 'permissions'
  /** A file larger than the configured limit. */
  | 'oversize'
  /** The bucket exists but is not in the documented shape (`.env` syntax, `bw` JSON, field types). */
  | 'malformed'
  /** An I/O error reading the bucket. */
  | 'unreadable'
  /** The session file does not hold a usable BW_SESSION. */
  | 'session'
  /** `bw`: the vault is locked (no or a stale BW_SESSION). */
  | 'locked'
  /** `bw`: no account is logged in. */
  | 'unauthenticated'
  /** `bw`: the CLI talks to another server than the configured one. */
  | 'server-mismatch'
  /** More than one bucket matched the tenant. */
  | 'ambiguous'
  /** `bw`: an object found a moment ago is gone ("Not found."). */
  | 'not-found'
  /** `bw` is not installed / not executable. */
  | 'bw-missing'
  /** `bw` did not answer within the timeout (it was killed). */
  | 'timeout'
  /** `bw` failed with an error this adapter does not know. */
  | 'bw-failed';

export interface SecretStoreErrorContext {
  tenant?: string | undefined;
  cause?: unknown;
  /** `bw`'s exit code, when the refusal came from a `bw` run. */
  exitCode?: number | undefined;
}

/** How a tenant id is shown in messages: JSON-quoted (control characters escaped), at most 80 characters. */
export function showTenant(tenant: unknown): string {
  if (typeof tenant !== 'string') return `<${tenant === null ? 'null' : typeof tenant}>`;
  const cut = tenant.length > 80 ? `${tenant.slice(0, 80)}…` : tenant;
  return JSON.stringify(cut);
}

export class SecretStoreError extends HolonError {
  static readonly CODE = 'HOLON_E_SECRETS';
  readonly store: SecretStoreKind;
  readonly reason: SecretStoreReason;
  /** The tenant as asked (possibly invalid); undefined for configuration errors. */
  readonly tenant: string | undefined;
  readonly exitCode: number | undefined;

  constructor(store: SecretStoreKind, reason: SecretStoreReason, detail: string, context: SecretStoreErrorContext = {}) {
    const who = context.tenant === undefined ? '' : `tenant ${showTenant(context.tenant)}: `;
    super(SecretStoreError.CODE, `secrets(${store}): ${who}${detail}`, { cause: context.cause });
    this.store = store;
    this.reason = reason;
    this.tenant = context.tenant;
    this.exitCode = context.exitCode;
  }

  override toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      store: this.store,
      reason: this.reason,
      tenant: this.tenant,
      ...(this.exitCode === undefined ? {} : { exit_code: this.exitCode }),
    };
  }
}
