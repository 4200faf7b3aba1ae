import { CAS_DIGEST_PATTERN, type CasDigest } from '../digest.js';
import { string, type Schema } from '../schema.js';

/** CasDigest: a content address, `sha256:<64 hex>`. */
export const CasDigestSchema = string({
  min: 71,
  max: 71,
  pattern: CAS_DIGEST_PATTERN,
  format: 'sha256:<64 lowercase hex>',
}) as Schema<CasDigest>;
