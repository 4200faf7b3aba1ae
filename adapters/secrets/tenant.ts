/**
 * Tenant id canonicalization: tenant id = unit name = secret bucket, so it is
 * used as one path component (directory store) and one `bw` search term.
 * Refused, never rewritten: `ACME` is not quietly turned into `acme`.
 */
import { TENANT_PATTERN } from '../../bus-schemas/v1/provisioning-request.js';
import { SecretStoreError, type SecretStoreKind } from './secret-store-error.js';

/** Return the tenant id if it is a DNS label; otherwise throw a SecretStoreError naming the first problem. */
export function checkTenant(tenant: unknown, store: SecretStoreKind): string {
  const refuse = (why: string): never => {
    throw new SecretStoreError(store, 'invalid-tenant', `${why}; a tenant id is a DNS label like acme-ci`, {
      tenant: typeof tenant === 'string' ? tenant : undefined,
    });
  };
  if (typeof tenant !== 'string') return refuse(`tenant id must be a string, got ${tenant === null ? 'null' : typeof tenant}`);
  if (tenant.length === 0) return refuse('empty tenant id');
  if (tenant.includes('\0')) return refuse('tenant id contains a NUL byte');
  if (tenant === '.' || tenant === '..' || tenant.split(/[/\\]/).includes('..')) return refuse("tenant id contains '..'");
  if (tenant.startsWith('/') || tenant.startsWith('\\')) return refuse('tenant id is an absolute path');
  if (tenant.includes('/') || tenant.includes('\\')) return refuse('tenant id contains a path separator');
  if (tenant.length > 63) return refuse(`tenant id is ${tenant.length} characters long (at most 63)`);
  if (/[A-Z]/.test(tenant) && TENANT_PATTERN.test(tenant.toLowerCase())) return refuse('tenant id must be lowercase');
  if (!TENANT_PATTERN.test(tenant)) return refuse('tenant id must be lowercase letters, digits and inner hyphens');
  return tenant;
}
