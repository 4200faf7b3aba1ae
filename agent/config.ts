/**
 * holon-agent's configuration: one JSON file, validated once at start-up
 * (pino's lesson): unknown keys are refused, and every refusal names the
 * file, the JSON path and what was expected. `--check-config` runs exactly
 * this and nothing else (docs/deploy.md: exit 0 valid, 78 invalid).
 */
import { isAbsolute } from 'node:path';
import { MAX_DIFFICULTY } from '../bus-schemas/admission/hashcash.js';
import { VDF_MAX_ITERATIONS, VDF_MIN_ITERATIONS } from '../bus-schemas/admission/vdf.js';
import { MalformedError } from '../bus-schemas/errors.js';
import { PublicKeyIdSchema, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { DEFAULT_METRICS_LISTEN, LogFormatSchema, MetricsConfigSchema, resolveMetrics, type LogFormat, type MetricsSettings } from '../bus-schemas/observability-config.js';
import { array, enumeration, integer, object, optional, refine, string, type Infer, type Schema } from '../bus-schemas/schema.js';
import { LABEL_KEY_PATTERN } from '../bus-schemas/v1/platform-report.js';
import { decodeJson } from '../bus-schemas/wire.js';
import { AgentConfigError } from './agent-error.js';

export const TPM_POLICIES = ['auto', 'required', 'off'] as const;
export type TpmPolicy = (typeof TPM_POLICIES)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** `noop`: units exist only in the agent's memory (control-plane benchmarks and tests; never for real work). */
export const ISOLATIONS = ['linux', 'bastille', 'noop'] as const;

const MAX_CONFIG_BYTES = 64 * 1024;

const absolutePath = (what: string): Schema<string> =>
  refine(string({ min: 1, max: 4096, format: `an absolute path (${what})` }), (p) => (isAbsolute(p) ? undefined : { path: '', reason: `expected an absolute path (${what}), got ${JSON.stringify(p)}` }));

const NatsUrlSchema = string({ min: 1, max: 512, pattern: /^(nats|tls):\/\/[^\s/@]+$/, format: 'a URL like nats://host:4222 (no credentials in it)' });

/** Probe labels: `{ "zone": "fsn1" }` — keys like label keys in PlatformReportV1, values up to 256 characters. */
const LabelsSchema: Schema<Record<string, string>> = {
  parseAt(input, path) {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new MalformedError(path, 'expected an object of label: value strings');
    const out: Record<string, string> = {};
    const entries = Object.entries(input as Record<string, unknown>);
    if (entries.length > 64) throw new MalformedError(path, 'at most 64 labels');
    for (const [k, v] of entries) {
      if (!LABEL_KEY_PATTERN.test(k)) throw new MalformedError(`${path}.${k}`, 'label key must be lowercase letters, digits, . _ / - (like zone or holonet.io/disk)');
      if (typeof v !== 'string' || v.length > 256) throw new MalformedError(`${path}.${k}`, 'expected a string of at most 256 characters');
      out[k] = v;
    }
    return out;
  },
  jsonSchema: () => ({ type: 'object', additionalProperties: { type: 'string', maxLength: 256 }, maxProperties: 64 }),
};

/** `principal_root`: one hkey1… or a list of them; "" is the installer's "not set yet". */
const PrincipalRootsSchema: Schema<PublicKeyIdV1[]> = {
  parseAt(input, path) {
    if (input === '' || (Array.isArray(input) && input.length === 0)) {
      throw new MalformedError(path, "not set: pin the principal's root key id (hkey1…), e.g. holonctl init prints it as principal key");
    }
    if (typeof input === 'string') return [PublicKeyIdSchema.parseAt(input, path)];
    return array(PublicKeyIdSchema, { min: 1, max: 8 }).parseAt(input, path);
  },
  jsonSchema: () => ({ anyOf: [PublicKeyIdSchema.jsonSchema(), { type: 'array', items: PublicKeyIdSchema.jsonSchema(), minItems: 1, maxItems: 8 }] }),
};

export const AgentConfigSchema = object({
  /** State, keys, TPM AK and credentials live here; created 0700. */
  data_dir: absolutePath('the agent data directory'),
  nats: object({
    servers: array(NatsUrlSchema, { min: 1, max: 16 }),
    /** .creds of the bootstrap user (publishes api.bootstrap.> only); absent: connect without credentials. */
    bootstrap_creds: optional(absolutePath('the bootstrap user .creds file')),
    /** Connection name shown by the server (default `holon-agent <machine id>`). */
    name: optional(string({ min: 1, max: 128 })),
  }),
  principal_root: PrincipalRootsSchema,
  log_level: optional(enumeration(LOG_LEVELS)),
  /** json (default; with a syslog priority prefix when stdout is the journal), pretty, journal */
  log_format: optional(LogFormatSchema),
  /** /metrics, /healthz, /readyz (docs/metrics.md): { listen: "127.0.0.1:9465" | "off" | null, max_units: 1000 } */
  metrics: optional(MetricsConfigSchema),
  isolation: optional(enumeration(ISOLATIONS)),
  tpm: optional(
    object({
      mode: enumeration(TPM_POLICIES),
      /** e.g. device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321; absent = tpm2-tools' default */
      tcti: optional(string({ min: 1, max: 256, pattern: /^[a-z0-9._-]+(?::\S*)?$/i, format: 'a TCTI like device:/dev/tpmrm0' })),
    }),
  ),
  labels: optional(LabelsSchema),
  /** FreeBSD: the Bastille release units are created from, and the VNET interface of egress units. */
  bastille: optional(object({ release: string({ min: 1, max: 64, pattern: /^[0-9]+\.[0-9]+-[A-Z0-9-]+$/, format: 'a release like 14.2-RELEASE' }), interface: optional(string({ min: 1, max: 15, pattern: /^[a-z0-9]+$/ })) })),
  /** Tenant secrets (hive onboarding): where each tenant's bucket comes from; absent = no secrets. */
  secrets: optional(
    object({
      store: enumeration(['directory', 'vaultwarden'] as const),
      /** directory store: the root holding one bucket per tenant */
      root: optional(absolutePath('the secret store root directory')),
      /** vaultwarden store: the 0600 file holding the bw session (the bootstrap credential; it never enters a unit) */
      session_file: optional(absolutePath('the bw session file')),
      bw_path: optional(absolutePath('the bw executable')),
    }),
  ),
  heartbeat_interval_ms: optional(integer({ min: 100, max: 3_600_000 })),
  metering_interval_ms: optional(integer({ min: 100, max: 3_600_000 })),
  /** the first guess at the cell's hashcash difficulty; the cell's refusal corrects it */
  admission_difficulty: optional(integer({ min: 0, max: 28 })),
  /** the most hashcash bits this agent will solve when a cell asks (a hostile cell cannot make it spin forever) */
  admission_max_difficulty: optional(integer({ min: 0, max: MAX_DIFFICULTY })),
  /** the most VDF squarings this agent will do when a cell asks */
  admission_max_vdf_iterations: optional(integer({ min: VDF_MIN_ITERATIONS, max: VDF_MAX_ITERATIONS })),
  bootstrap: optional(
    object({
      request_timeout_ms: optional(integer({ min: 100, max: 300_000 })),
      poll_initial_ms: optional(integer({ min: 10, max: 3_600_000 })),
      poll_max_ms: optional(integer({ min: 10, max: 3_600_000 })),
    }),
  ),
});
type RawConfig = Infer<typeof AgentConfigSchema>;

/** The validated configuration with every default filled in. */
export interface AgentConfig {
  file: string;
  dataDir: string;
  nats: { servers: string[]; bootstrapCreds: string | undefined; name: string | undefined };
  principalRoots: PublicKeyIdV1[];
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat: LogFormat;
  metrics: MetricsSettings;
  isolation: (typeof ISOLATIONS)[number];
  tpm: { mode: TpmPolicy; tcti: string | undefined };
  labels: Record<string, string>;
  bastille: { release: string; interface: string | undefined } | undefined;
  secrets: { store: 'directory'; root: string } | { store: 'vaultwarden'; sessionFile: string; bwPath: string | undefined } | undefined;
  heartbeatIntervalMs: number;
  /** how often units are metered (default 1 s) */
  meterIntervalMs: number;
  admissionDifficulty: number;
  /** caps on the work a cell may ask of this agent's admission proof */
  admissionMaxDifficulty: number;
  admissionMaxVdfIterations: number;
  bootstrap: { requestTimeoutMs: number; pollInitialMs: number; pollMaxMs: number };
}

export const CONFIG_DEFAULTS = {
  logLevel: 'info',
  isolation: 'linux',
  tpm: 'auto',
  heartbeatIntervalMs: 10_000,
  meterIntervalMs: 1000,
  admissionDifficulty: 16,
  /** ~2^26 SHA-256: a few minutes on one core; the default policy never asks more than 24 */
  admissionMaxDifficulty: 26,
  /** 2^25 squarings: a few minutes; the default policy in vdf mode never asks more */
  admissionMaxVdfIterations: 33_554_432,
  requestTimeoutMs: 10_000,
  pollInitialMs: 1_000,
  pollMaxMs: 60_000,
} as const;

/** Parse the config file's text; throws AgentConfigError naming `file` and the JSON path. */
export function parseAgentConfig(text: string | Uint8Array, file: string): AgentConfig {
  let raw: RawConfig;
  try {
    raw = AgentConfigSchema.parseAt(decodeJson(text, 'agent config', MAX_CONFIG_BYTES), '$');
  } catch (e) {
    if (e instanceof MalformedError) throw new AgentConfigError(file, e.path, e.reason, { cause: e });
    throw new AgentConfigError(file, '$', (e as Error).message, { cause: e });
  }
  const b = raw.bootstrap ?? {};
  const pollInitialMs = b.poll_initial_ms ?? CONFIG_DEFAULTS.pollInitialMs;
  const pollMaxMs = b.poll_max_ms ?? Math.max(CONFIG_DEFAULTS.pollMaxMs, pollInitialMs);
  if (pollMaxMs < pollInitialMs) throw new AgentConfigError(file, '$.bootstrap.poll_max_ms', `must be at least poll_initial_ms (${pollInitialMs})`);
  if ((raw.isolation ?? CONFIG_DEFAULTS.isolation) === 'bastille' && raw.bastille === undefined) {
    throw new AgentConfigError(file, '$.bastille', 'required with isolation "bastille" (give at least the release, e.g. {"release": "14.2-RELEASE"})');
  }
  const admissionDifficulty = raw.admission_difficulty ?? CONFIG_DEFAULTS.admissionDifficulty;
  const admissionMaxDifficulty = raw.admission_max_difficulty ?? Math.max(CONFIG_DEFAULTS.admissionMaxDifficulty, admissionDifficulty);
  if (admissionMaxDifficulty < admissionDifficulty) {
    throw new AgentConfigError(file, '$.admission_max_difficulty', `must be at least admission_difficulty (${admissionDifficulty})`);
  }
  let secrets: AgentConfig['secrets'];
  if (raw.secrets?.store === 'directory') {
    if (raw.secrets.root === undefined) throw new AgentConfigError(file, '$.secrets.root', 'required for the directory store');
    secrets = { store: 'directory', root: raw.secrets.root };
  } else if (raw.secrets?.store === 'vaultwarden') {
    if (raw.secrets.session_file === undefined) throw new AgentConfigError(file, '$.secrets.session_file', 'required for the vaultwarden store');
    secrets = { store: 'vaultwarden', sessionFile: raw.secrets.session_file, bwPath: raw.secrets.bw_path };
  }
  return {
    file,
    dataDir: raw.data_dir,
    nats: { servers: raw.nats.servers, bootstrapCreds: raw.nats.bootstrap_creds, name: raw.nats.name },
    principalRoots: [...new Set(raw.principal_root)],
    logLevel: raw.log_level ?? CONFIG_DEFAULTS.logLevel,
    logFormat: raw.log_format ?? 'json',
    metrics: resolveMetrics(raw.metrics, DEFAULT_METRICS_LISTEN.agent),
    isolation: raw.isolation ?? CONFIG_DEFAULTS.isolation,
    tpm: { mode: raw.tpm?.mode ?? CONFIG_DEFAULTS.tpm, tcti: raw.tpm?.tcti },
    labels: raw.labels ?? {},
    secrets,
    bastille: raw.bastille !== undefined ? { release: raw.bastille.release, interface: raw.bastille.interface } : undefined,
    heartbeatIntervalMs: raw.heartbeat_interval_ms ?? CONFIG_DEFAULTS.heartbeatIntervalMs,
    meterIntervalMs: raw.metering_interval_ms ?? CONFIG_DEFAULTS.meterIntervalMs,
    admissionDifficulty,
    admissionMaxDifficulty,
    admissionMaxVdfIterations: raw.admission_max_vdf_iterations ?? CONFIG_DEFAULTS.admissionMaxVdfIterations,
    bootstrap: { requestTimeoutMs: b.request_timeout_ms ?? CONFIG_DEFAULTS.requestTimeoutMs, pollInitialMs, pollMaxMs },
  };
}
