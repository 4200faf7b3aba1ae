/**
 * Tenant secrets (hive onboarding, DESIGN §6): tenant id = unit name =
 * secret bucket. A store resolves a tenant's bucket to variables; the agent
 * renders them as the unit's `.env` (0600, owned by the unit user) through
 * IsolationPort.writeFile. The store's own bootstrap credential (a Vaultwarden
 * session, a directory path) stays on the host and never enters a unit.
 */

/** Variable names that may appear in a `.env`: shell-safe identifiers. */
export const SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export interface TenantSecrets {
  tenant: string;
  /** name → value, names matching SECRET_NAME_PATTERN, values without NUL */
  vars: Record<string, string>;
}

export interface SecretStore {
  readonly kind: 'directory' | 'vaultwarden';
  /**
   * The tenant's bucket, or undefined when it has none (a no-op for the
   * caller). Fails closed: an unreadable, malformed or escaping bucket is a
   * typed error, never an empty result.
   */
  resolve(tenant: string): Promise<TenantSecrets | undefined>;
}
