/**
 * Guarded jobs (the compute-substrate seed; DESIGN §6): a command runs
 * inside a unit only if the SHA-256 of its executable or script is the one
 * pinned in the request; its exit status and the digests of its stdout and
 * stderr become ledger evidence.
 *
 *   requester ──JobRequestV1──▶ api.job.run ──▶ JobResultV1 (the agent's, sealed by the machine)
 *   cell ──JobCommandV1──▶ holon.<host>.job (request) ──▶ JobResultV1
 *   agent ──output chunks──▶ holon.<host>.jobout.<job id> (while it runs)
 */
import { CellIdSchema, HolonIdSchema, PublicKeyIdSchema } from '../ids.js';
import { array, boolean, enumeration, integer, nullable, object, optional, refine, string, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { CasDigestSchema } from './cas-digest.js';
import { sameKey } from './holon-certificate.js';
import { NonceSchema } from './machine-attestation.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';
import { UnitNameSchema } from './unit-flow.js';

export const MAX_JOB_TIMEOUT_MS = 24 * 60 * 60 * 1000;
/** A job id: one subject token, derived from the request digest. */
export const JobIdSchema = string({ min: 25, max: 25, pattern: /^j[0-9a-f]{24}$/, format: 'j + 24 hex digits' });
export const Sha256HexSchema = string({ min: 64, max: 64, pattern: /^[0-9a-f]{64}$/, format: 'a SHA-256 in lowercase hex' });
const ArgSchema = refine(string({ min: 0, max: 4096, format: 'an argument without NUL' }), (a) => (a.includes('\0') ? 'contains NUL' : undefined));
const ArgvSchema = refine(array(ArgSchema, { min: 1, max: 256 }), (a) => {
  const exe = a[0] as string;
  if (!exe.startsWith('/')) return { path: '[0]', reason: 'the executable must be an absolute path inside the unit' };
  if (exe.split('/').some((s) => s === '..' || s === '.')) return { path: '[0]', reason: 'the executable path must be canonical (no . or ..)' };
  return undefined;
});

/** The job id of a request: `j` + the first 24 hex digits of its digest. */
export function jobIdOf(requestDigest: string): string {
  return `j${requestDigest.slice('sha256:'.length, 'sha256:'.length + 24)}`;
}

export const JobRequestV1Schema = object(
  {
    holon_id: HolonIdSchema,
    /** argv[0]: absolute path of the executable or script as the unit sees it */
    argv: ArgvSchema,
    /** SHA-256 of argv[0]'s bytes: the job runs only if they match */
    sha256: Sha256HexSchema,
    timeout_ms: integer({ min: 100, max: MAX_JOB_TIMEOUT_MS }),
    request_nonce: NonceSchema,
    requested_at: TimeEnvelopeRefSchema,
    requester_seal: AuthoritySealV1Schema,
  },
  'JobRequestV1: run a hash-pinned command inside a unit',
);
export type JobRequestV1 = Infer<typeof JobRequestV1Schema>;
export const JobRequestV1 = defineSealedObject('JobRequestV1', JobRequestV1Schema, 'requester_seal', { maxBytes: 512 * 1024 });

export const JobCommandV1Schema = refine(
  object(
    {
      job_id: JobIdSchema,
      request_digest: CasDigestSchema,
      cell_id: CellIdSchema,
      machine_id: PublicKeyIdSchema,
      holon_id: HolonIdSchema,
      unit_name: UnitNameSchema,
      argv: ArgvSchema,
      sha256: Sha256HexSchema,
      timeout_ms: integer({ min: 100, max: MAX_JOB_TIMEOUT_MS }),
      issued_at: TimeEnvelopeRefSchema,
      cell_seal: AuthoritySealV1Schema,
    },
    'JobCommandV1: the cell tells an agent to run an authorized job',
  ),
  (c) => (!sameKey(c.cell_seal.key, c.cell_id) ? { path: '.cell_seal.key', reason: 'not sealed by the key of cell_id' } : undefined),
);
export type JobCommandV1 = Infer<typeof JobCommandV1Schema>;
export const JobCommandV1 = defineSealedObject('JobCommandV1', JobCommandV1Schema, 'cell_seal', { maxBytes: 512 * 1024 });

export const JobResultV1Schema = refine(
  object(
    {
      job_id: JobIdSchema,
      request_digest: CasDigestSchema,
      machine_id: PublicKeyIdSchema,
      holon_id: HolonIdSchema,
      outcome: enumeration(['EXITED', 'REFUSED'] as const),
      /** SHA-256 of the bytes the agent read as argv[0] (what ran, or what was refused) */
      executable_sha256: nullable(Sha256HexSchema),
      exit_code: nullable(integer({ min: 0, max: 255 })),
      signal: nullable(string({ min: 3, max: 16, pattern: /^SIG[A-Z0-9]+$/ })),
      timed_out: boolean(),
      stdout_sha256: Sha256HexSchema,
      stderr_sha256: Sha256HexSchema,
      stdout_bytes: integer({ min: 0 }),
      stderr_bytes: integer({ min: 0 }),
      refusal: optional(object({ code: string({ min: 9, max: 64, pattern: /^HOLON_E_[A-Z0-9_]+$/ }), reason: string({ min: 1, max: 512 }) })),
      started_at: TimeEnvelopeRefSchema,
      finished_at: TimeEnvelopeRefSchema,
      machine_seal: AuthoritySealV1Schema,
    },
    'JobResultV1: what a guarded job did, sealed by the machine that ran it',
  ),
  (r) => {
    if (r.outcome === 'REFUSED' && r.refusal === undefined) return { path: '.refusal', reason: 'required when REFUSED' };
    if (r.outcome === 'EXITED' && r.refusal !== undefined) return { path: '.refusal', reason: 'only when REFUSED' };
    if (!sameKey(r.machine_seal.key, r.machine_id)) return { path: '.machine_seal.key', reason: 'not sealed by the key of machine_id' };
    return undefined;
  },
);
export type JobResultV1 = Infer<typeof JobResultV1Schema>;
export const JobResultV1 = defineSealedObject('JobResultV1', JobResultV1Schema, 'machine_seal', { maxBytes: 8 * 1024 });

/** SHA-256 of nothing: the digest of an empty stream. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
