/**
 * holon-orchestrator configuration: one JSON file, validated once at start
 * (pino's lesson): unknown keys refused, every problem named by its JSON path
 * and what was expected. Relative paths resolve against `data_dir`, whose
 * default layout is what `holonctl init` writes.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { HolonError, MalformedError } from '../bus-schemas/errors.js';
import { PublicKeyIdSchema, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { PCR_BANKS, type PcrBank } from '../bus-schemas/v1/tpm-quote.js';
import { DEFAULT_METRICS_LISTEN, LogFormatSchema, MetricsConfigSchema, resolveMetrics, type LogFormat, type MetricsSettings } from '../bus-schemas/observability-config.js';
import { array, enumeration, integer, object, optional, refine, string, type Infer } from '../bus-schemas/schema.js';

/** EX_CONFIG: the process exits with this when the configuration is unusable. */
export const EXIT_CONFIG = 78;

/** The configuration (or a file it names) is unusable. */
export class ConfigError extends HolonError {
  static readonly CODE = 'HOLON_E_CONFIG';
  readonly file: string;
  readonly path: string;
  readonly reason: string;
  constructor(file: string, path: string, reason: string, options?: { cause?: unknown }) {
    super(ConfigError.CODE, `config ${file}: ${path}: ${reason}`, options);
    this.file = file;
    this.path = path;
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, file: this.file, path: this.path, reason: this.reason };
  }
}

const FilePath = string({ min: 1, max: 4096, pattern: /^[^\0]+$/, format: 'a file path' });
const NatsUrl = string({ min: 1, max: 512, pattern: /^(nats|tls|ws|wss):\/\/[^\s@/]+(:\d+)?\/?$/, format: 'a nats://host:port URL without credentials' });

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const ConfigFileSchema = object({
  data_dir: FilePath,
  nats: object({
    servers: array(NatsUrl, { min: 1, max: 16 }),
    /** .creds of the serving identity (requests in, answers to inboxes only); absent: connect without credentials */
    creds: optional(FilePath),
    /** .creds of the ledger-writer identity (ledger entries, agent commands); absent: the serving creds */
    writer_creds: optional(FilePath),
    /** .creds of the cell's admin identity (the JetStream API); absent: the serving creds */
    admin_creds: optional(FilePath),
    /** the cell account nkey seed (holonctl init: nats/account.nk) */
    account_seed: optional(FilePath),
    /** the account signing seed that mints agents' user JWTs (nats/account-signing.nk) */
    account_signing_seed: optional(FilePath),
  }),
  log_level: optional(enumeration(LOG_LEVELS)),
  /** json (default; with a syslog priority prefix when stdout is the journal), pretty, journal */
  log_format: optional(LogFormatSchema),
  /** /metrics, /healthz, /readyz (docs/metrics.md): { listen: "127.0.0.1:9464" | "off" | null, max_units: 1000 } */
  metrics: optional(MetricsConfigSchema),
  /** SQLite projection (default <data_dir>/orchestrator.db) */
  database: optional(FilePath),
  cell_key: optional(FilePath),
  cell_certificate: optional(FilePath),
  policy: optional(FilePath),
  /** the principal root this cell answers to; absent: the one named by the cell certificate */
  principal_key: optional(PublicKeyIdSchema),
  /** PEM files of CAs an EK certificate may chain to */
  ek_trust_anchors: optional(array(FilePath, { max: 64 })),
  ek_intermediates: optional(array(FilePath, { max: 64 })),
  pcr_selection: optional(
    refine(
      object({ bank: enumeration(PCR_BANKS), pcrs: array(integer({ min: 0, max: 23 }), { min: 1, max: 24 }) }),
      (s) => (s.pcrs.some((p, i) => i > 0 && p <= (s.pcrs[i - 1] as number)) ? { path: '.pcrs', reason: 'PCR indices must be strictly ascending' } : undefined),
    ),
  ),
  /** how long a challenge may be answered (default: the policy's nonce_lifetime_ms) */
  challenge_ttl_ms: optional(integer({ min: 1_000, max: 600_000 })),
  max_clock_skew_ms: optional(integer({ min: 0, max: 3_600_000 })),
  /** admission epoch length; epoch = floor(now / admission_epoch_ms) */
  admission_epoch_ms: optional(integer({ min: 60_000, max: 7 * 86_400_000 })),
  /** HOST certificate lifetime (capped by the cell certificate) */
  certificate_validity_ms: optional(integer({ min: 60_000, max: 10 * 365 * 86_400_000 })),
  /** provider keys whose jurisdiction attestations are believed */
  trusted_providers: optional(array(PublicKeyIdSchema, { max: 256 })),
  /** placement: a machine may be filled to this many times its measured memory and max_units (default 1) */
  placement_overcommit: optional(integer({ min: 1, max: 1000 })),
  /** how long a unit whose budget ran out has between SIGTERM and the kill (TEARDOWN policy) */
  exhaustion_grace_ms: optional(integer({ min: 0, max: 600_000 })),
  /** an enrolled machine not heard from (heartbeats, metering) for this long is UNREACHABLE */
  unreachable_after_ms: optional(integer({ min: 1000, max: 86_400_000 })),
});
export type OrchestratorConfigFile = Infer<typeof ConfigFileSchema>;

export interface OrchestratorConfig {
  file: string;
  dataDir: string;
  nats: { servers: string[]; creds?: string; writerCreds?: string; adminCreds?: string; accountSeed: string; accountSigningSeed: string };
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat: LogFormat;
  metrics: MetricsSettings;
  database: string;
  cellKey: string;
  cellCertificate: string;
  policy: string;
  principalKey?: PublicKeyIdV1;
  ekTrustAnchors: string[];
  ekIntermediates: string[];
  pcrSelection: { bank: PcrBank; pcrs: number[] };
  challengeTtlMs?: number;
  maxClockSkewMs: number;
  admissionEpochMs: number;
  certificateValidityMs: number;
  trustedProviders: PublicKeyIdV1[];
  placementOvercommit: number;
  exhaustionGraceMs: number;
  unreachableAfterMs: number;
}

export const CONFIG_DEFAULTS = {
  database: 'orchestrator.db',
  cellKey: 'keys/cell.key',
  cellCertificate: 'cell-certificate.json',
  policy: 'policy.json',
  accountSeed: 'nats/account.nk',
  accountSigningSeed: 'nats/account-signing.nk',
  pcrSelection: { bank: 'sha256' as const, pcrs: [0, 1, 2, 3, 7] },
  maxClockSkewMs: 5 * 60_000,
  admissionEpochMs: 3_600_000,
  certificateValidityMs: 365 * 86_400_000,
};

/** Parse and resolve a configuration document; throws ConfigError naming the JSON path. */
export function parseOrchestratorConfig(text: string, file: string): OrchestratorConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, '$', `not valid JSON (${(e as Error).message})`, { cause: e });
  }
  let c: OrchestratorConfigFile;
  try {
    c = ConfigFileSchema.parseAt(json, '$');
  } catch (e) {
    if (e instanceof MalformedError) throw new ConfigError(file, e.path, e.reason, { cause: e });
    throw e;
  }
  if (!isAbsolute(c.data_dir)) throw new ConfigError(file, '$.data_dir', 'must be an absolute path');
  const dir = c.data_dir;
  const at = (p: string | undefined, dflt: string): string => (p === undefined ? join(dir, dflt) : resolve(dir, p));
  return {
    file,
    dataDir: dir,
    nats: {
      servers: c.nats.servers,
      ...(c.nats.creds !== undefined ? { creds: resolve(dir, c.nats.creds) } : {}),
      ...(c.nats.writer_creds !== undefined ? { writerCreds: resolve(dir, c.nats.writer_creds) } : {}),
      ...(c.nats.admin_creds !== undefined ? { adminCreds: resolve(dir, c.nats.admin_creds) } : {}),
      accountSeed: at(c.nats.account_seed, CONFIG_DEFAULTS.accountSeed),
      accountSigningSeed: at(c.nats.account_signing_seed, CONFIG_DEFAULTS.accountSigningSeed),
    },
    logLevel: c.log_level ?? 'info',
    logFormat: c.log_format ?? 'json',
    metrics: resolveMetrics(c.metrics, DEFAULT_METRICS_LISTEN.orchestrator),
    database: at(c.database, CONFIG_DEFAULTS.database),
    cellKey: at(c.cell_key, CONFIG_DEFAULTS.cellKey),
    cellCertificate: at(c.cell_certificate, CONFIG_DEFAULTS.cellCertificate),
    policy: at(c.policy, CONFIG_DEFAULTS.policy),
    ...(c.principal_key !== undefined ? { principalKey: c.principal_key } : {}),
    ekTrustAnchors: (c.ek_trust_anchors ?? []).map((p) => resolve(dir, p)),
    ekIntermediates: (c.ek_intermediates ?? []).map((p) => resolve(dir, p)),
    pcrSelection: c.pcr_selection ?? CONFIG_DEFAULTS.pcrSelection,
    ...(c.challenge_ttl_ms !== undefined ? { challengeTtlMs: c.challenge_ttl_ms } : {}),
    maxClockSkewMs: c.max_clock_skew_ms ?? CONFIG_DEFAULTS.maxClockSkewMs,
    admissionEpochMs: c.admission_epoch_ms ?? CONFIG_DEFAULTS.admissionEpochMs,
    placementOvercommit: c.placement_overcommit ?? 1,
    exhaustionGraceMs: c.exhaustion_grace_ms ?? 5000,
    unreachableAfterMs: c.unreachable_after_ms ?? 35_000,
    certificateValidityMs: c.certificate_validity_ms ?? CONFIG_DEFAULTS.certificateValidityMs,
    trustedProviders: c.trusted_providers ?? [],
  };
}

/** Read and parse the configuration file; unreadable files are a ConfigError too. */
export function loadOrchestratorConfig(file: string): OrchestratorConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, '$', `cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
  }
  return parseOrchestratorConfig(text, file);
}
