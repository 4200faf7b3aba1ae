/**
 * What `holonctl up` writes beside `holonctl init`'s files: the NATS users of
 * the local orchestrator and of holonctl, the local policy (a development
 * policy allowing software-only machines when there is no TPM; with a TPM,
 * one pre-approving this machine's EK), and the two daemons' config files.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HolonError } from '../../bus-schemas/errors.js';
import { PolicyV1 } from '../../bus-schemas/v1/policy.js';
import type { PrincipalContext } from './machines.js';
import type { UserGrant } from '../../bus-schemas/grants.js';

export const UP_FILES = {
  /** the orchestrator's three identities (bus-schemas/grants): serving, ledger writer, JetStream admin */
  orchestratorCreds: 'nats/orchestrator-serve.creds',
  writerCreds: 'nats/orchestrator-writer.creds',
  adminCreds: 'nats/orchestrator-admin.creds',
  /** holonctl's own: the cell's request subjects and the principal's inbox */
  operatorCreds: 'nats/holonctl.creds',
  devPolicy: 'policy-local-dev.json',
  tpmPolicy: 'policy-local-tpm.json',
  orchestratorConfig: 'up/orchestrator.json',
  agentConfig: 'up/agent.json',
  agentDir: 'agent',
  logs: 'logs',
  natsStore: 'nats/store',
} as const;

export interface UpPorts {
  /** .creds of a new user of the cell account allowed exactly `grant`. */
  mintCellUser(seeds: { account: string; accountSigning: string }, grant: UserGrant): Promise<string>;
  /** Declare Holonet's streams on the bus (idempotent). */
  declareStreams(target: { servers: string[]; credsFile: string }): Promise<void>;
  /** Provision the TPM at `tcti` (AK kept in `stateDir`, where the agent will find it); the EK's hash (sha256:<hex>). */
  readEk?(tcti: string, stateDir: string): Promise<{ ekSha256: string }>;
  writeFileExclusive(path: string, text: string, mode: number): Promise<'written' | 'exists'>;
}

/** Create `rel` (0600) from `make()` unless it exists; return its path. */
export async function ensureCreds(dir: string, rel: string, make: () => Promise<string>, ports: Pick<UpPorts, 'writeFileExclusive'>): Promise<string> {
  const path = join(dir, rel);
  try {
    await readFile(path, 'utf8');
    return path;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await ports.writeFileExclusive(path, await make(), 0o600);
  return path;
}

async function readPolicy(path: string, principalKey: string): Promise<PolicyV1 | undefined> {
  try {
    const p = PolicyV1.decode((await readFile(path, 'utf8')).trim());
    PolicyV1.verify(p, principalKey as PolicyV1['principal_key']);
    return p;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (e instanceof HolonError) return undefined;
    throw e;
  }
}

/**
 * The local policy: init's policy.json with `tpm: optional` (no TPM: a
 * development policy) or with this machine's EK pre-approved (TPM), sealed
 * by the principal key. Reused when the file already says that.
 */
export async function ensureLocalPolicy(dir: string, ctx: PrincipalContext, ekSha256: string | undefined, now = Date.now()): Promise<string> {
  const rel = ekSha256 === undefined ? UP_FILES.devPolicy : UP_FILES.tpmPolicy;
  const path = join(dir, rel);
  const existing = await readPolicy(path, ctx.principalKey);
  const fits = (p: PolicyV1): boolean => (ekSha256 === undefined ? p.tpm === 'optional' : p.tpm === 'required' && p.preapproved_eks.some((e) => e.ek_sha256 === ekSha256));
  if (existing !== undefined && fits(existing)) return path;
  const base = await readPolicy(join(dir, 'policy.json'), ctx.principalKey);
  if (base === undefined) throw new HolonError('HOLON_E_UP', `${join(dir, 'policy.json')}: not a policy sealed by ${ctx.principalKey}`);
  const { principal_seal: _seal, ...fields } = base;
  const policy = PolicyV1.seal(
    {
      ...fields,
      serial: Math.max(base.serial, existing?.serial ?? 0) + 1,
      issued_at: now,
      ...(ekSha256 === undefined
        ? { tpm: 'optional' as const, tpm_required_roles: [] }
        : { tpm: 'required' as const, preapproved_eks: [...base.preapproved_eks.filter((e) => e.ek_sha256 !== ekSha256), { ek_sha256: ekSha256 }].sort((a, b) => a.ek_sha256.localeCompare(b.ek_sha256)) }),
    },
    ctx.principal,
  );
  await writeFile(path, `${JSON.stringify(policy, null, 2)}\n`, { mode: 0o644 });
  return path;
}

export interface DaemonConfigs {
  orchestrator: string;
  agent: string;
}

/** Write the orchestrator's and the agent's config files for the bus at `url` (rewritten on every `up`). */
export async function writeDaemonConfigs(
  dir: string,
  o: { url: string; orchestratorCreds: string; writerCreds: string; adminCreds: string; policy: string; principalKey: string; admissionDifficulty: number; tcti: string | undefined; isolation: 'linux' | 'noop'; overcommit: number },
): Promise<DaemonConfigs> {
  const orchestrator = join(dir, UP_FILES.orchestratorConfig);
  const agent = join(dir, UP_FILES.agentConfig);
  const orchestratorConfig = {
    data_dir: dir,
    nats: { servers: [o.url], creds: o.orchestratorCreds, writer_creds: o.writerCreds, admin_creds: o.adminCreds },
    policy: o.policy,
    principal_key: o.principalKey,
    log_level: 'info',
    placement_overcommit: o.overcommit,
    // Any free port: several local cells may run on one machine (the bound URL is logged; up reports it).
    metrics: { listen: '127.0.0.1:0' },
  };
  const agentConfig = {
    data_dir: join(dir, UP_FILES.agentDir),
    nats: { servers: [o.url], bootstrap_creds: join(dir, 'nats/bootstrap.creds'), name: 'holon-agent (holonctl up)' },
    principal_root: o.principalKey,
    log_level: 'info',
    metrics: { listen: '127.0.0.1:0' },
    tpm: o.tcti === undefined ? { mode: 'off' } : { mode: 'required', tcti: o.tcti },
    admission_difficulty: o.admissionDifficulty,
    bootstrap: { poll_initial_ms: 200, poll_max_ms: 2000 },
    isolation: o.isolation,
    // Tenant secrets: one directory per tenant under <dir>/secrets (docs/adapters/secrets.md).
    secrets: { store: 'directory', root: join(dir, 'secrets') },
  };
  await writeFile(orchestrator, `${JSON.stringify(orchestratorConfig, null, 2)}\n`, { mode: 0o600 });
  await writeFile(agent, `${JSON.stringify(agentConfig, null, 2)}\n`, { mode: 0o600 });
  return { orchestrator, agent };
}
