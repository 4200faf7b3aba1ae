/**
 * Public names of the secret stores (hive onboarding, DESIGN §6). Only
 * composition roots (the main.ts files) import this folder.
 */
export { createDirectorySecretStore, BUCKET_FILE, DEFAULT_MAX_DOTENV_BYTES, type DirectorySecretStoreOptions } from './directory-store.js';
export { createVaultwardenSecretStore, type VaultwardenSecretStoreOptions } from './vaultwarden-store.js';
export { DotEnvError, MAX_DOTENV_VARS, parseDotEnv, renderDotEnv } from './dotenv.js';
export { SecretStoreError, type SecretStoreKind, type SecretStoreReason } from './secret-store-error.js';
export { checkTenant } from './tenant.js';
export type { SecretStore, TenantSecrets } from '../../bus-schemas/units/secret-port.js';
