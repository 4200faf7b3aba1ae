/**
 * `holonctl init`: create a cell's trust material — in the orchestrator's
 * data directory a cell key with its CellCertificateV1, the signed default
 * PolicyV1, the NATS operator / accounts / signing key, their JWTs, the
 * nats-server operator-mode fragment, the bootstrap user's .creds and the
 * orchestrator's three users' .creds; in the principal's own directory,
 * outside the data dir by default, the principal root key, a copy of the
 * certificate and holonctl's .creds (the files holonctl's bus commands read
 * from their --dir). Credentials are minted as `holonctl up` mints them.
 *
 * It never replaces a key. Every file is written whole or not at all (temp
 * file + link), keys first, so a run killed half-way leaves a directory the
 * next run completes, reusing every key already there. A complete directory
 * is refused with nothing changed. Key material is never printed.
 */
import { chmod, mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HolonError } from '../../bus-schemas/errors.js';
import { adminGrant, ledgerWriterGrant, operatorGrant, orchestratorServeGrant, type UserGrant } from '../../bus-schemas/grants.js';
import { encodeId, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { decodeKeyFile, encodeKeyFile } from '../../bus-schemas/key-file.js';
import { generateEd25519, signerFromSeed, type Signer } from '../../bus-schemas/keys.js';
import { CELL_NAME_PATTERN, CellCertificateV1 } from '../../bus-schemas/v1/cell-certificate.js';
import { HOLON_ROLES } from '../../bus-schemas/v1/holon-role.js';
import { DEFAULT_POLICY, PolicyV1, TPM_MODES, type TpmMode } from '../../bus-schemas/v1/policy.js';
import { resolveDir } from '../bus-target.js';
import { EXIT_OK, UsageError, writeLine, type CliIo, type Command } from '../command.js';
import type { CliPorts } from '../ports.js';
import { UP_FILES, type UpPorts } from './up-files.js';

const HELP = `holonctl init — create a cell's keys, certificate, policy and NATS trust

usage: holonctl init [--dir <data dir>] [--principal-dir <dir>] [--cell-name <name>]
                     [--tpm required|optional] [--json]

  --dir <path>            the orchestrator's data directory (default
                          $HOLONET_DIR, else ./.holonet); created 0700
  --principal-dir <path>  the principal's directory, outside the data dir
                          (default $XDG_CONFIG_HOME/holonet, else
                          $HOME/.config/holonet); created 0700. The same
                          path as --dir keeps everything in one directory,
                          as holonctl up does
  --cell-name <name>      the cell's name, a DNS label (default local)
  --tpm <mode>            policy: must a machine have a TPM to enroll
                          (default required)
  --json                  print one JSON document on stdout

In the data dir: keys/cell.key (Ed25519, 0600), the cell certificate and the
default policy signed by the principal, and under nats/ the operator, system
account, cell account and signing nkeys (0600), their JWTs, auth.conf
(include it in nats-server.conf), bootstrap.creds (publishes only
api.bootstrap.>; agents connect with it) and the orchestrator's
orchestrator-{serve,writer,admin}.creds (0600).
In the principal dir: keys/principal.key (0600), a copy of
cell-certificate.json and nats/holonctl.creds (0600): the data dir of
holonctl's other commands (--dir or HOLONET_DIR). Keep it off the cell.

Never replaces a key: a complete set is refused (exit 1, nothing changed);
a partial one (an interrupted run) is completed with the keys it already
holds, and an existing principal key is used, not replaced. Prints paths and
public ids only.`;

/** The NATS credential functions init needs; cli/main.ts wires adapters/nats/credentials. */
export interface NatsTrustPort {
  createSeed(kind: 'operator' | 'account'): string;
  /** Throws a HolonError if `seed` is not an nkey seed of `kind`. */
  publicKey(seed: string, kind: 'operator' | 'account'): string;
  operatorJwt(seeds: { operator: string; system: string }, name: string): Promise<string>;
  systemAccountJwt(seeds: { operator: string; system: string }): Promise<string>;
  cellAccountJwt(seeds: { operator: string; account: string; accountSigning: string }, name: string): Promise<string>;
  /** .creds text of a user allowed to publish api.bootstrap.> only. */
  bootstrapCreds(seeds: { account: string; accountSigning: string }): Promise<string>;
  serverAuthConfig(opts: { operatorJwt: string; systemAccount: string; accounts: { public: string; jwt: string; name: string }[] }): string;
}

export interface InitPorts {
  natsTrust: NatsTrustPort;
  /** .creds of a new user of the cell account allowed exactly its grant (the port holonctl up mints with). */
  mintCellUser: UpPorts['mintCellUser'];
  /** Write whole-or-nothing with `mode`; 'exists' (and no change) if `path` already exists. */
  writeFileExclusive(path: string, text: string, mode: number): Promise<'written' | 'exists'>;
}

/** The data directory is already complete: nothing was changed. */
export class InitExistsError extends HolonError {
  static readonly CODE = 'HOLON_E_INIT_EXISTS';
  readonly dir: string;
  constructor(dir: string) {
    super(InitExistsError.CODE, `${dir} is already initialized; refusing to replace any key (nothing changed)`);
    this.dir = dir;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, dir: this.dir };
  }
}

/** A file in the data directory does not fit the keys beside it: nothing was changed. */
export class InitConflictError extends HolonError {
  static readonly CODE = 'HOLON_E_INIT_CONFLICT';
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string) {
    super(InitConflictError.CODE, `${path}: ${reason}; move it away or fix it (nothing changed)`);
    this.path = path;
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, path: this.path, reason: this.reason };
  }
}

/**
 * Every file init makes, relative to the data dir or to the principal dir
 * (`in`). `secret` files are 0600 and never replaced. The principal's copy
 * of the certificate exists only when the two directories differ.
 */
export const INIT_FILES = {
  principalKey: { path: 'keys/principal.key', secret: true, in: 'principal' },
  cellKey: { path: 'keys/cell.key', secret: true, in: 'data' },
  operatorSeed: { path: 'nats/operator.nk', secret: true, in: 'data' },
  systemSeed: { path: 'nats/system-account.nk', secret: true, in: 'data' },
  accountSeed: { path: 'nats/account.nk', secret: true, in: 'data' },
  signingSeed: { path: 'nats/account-signing.nk', secret: true, in: 'data' },
  cellCertificate: { path: 'cell-certificate.json', secret: false, in: 'data' },
  policy: { path: 'policy.json', secret: false, in: 'data' },
  operatorJwt: { path: 'nats/operator.jwt', secret: false, in: 'data' },
  systemJwt: { path: 'nats/system-account.jwt', secret: false, in: 'data' },
  accountJwt: { path: 'nats/account.jwt', secret: false, in: 'data' },
  authConf: { path: 'nats/auth.conf', secret: false, in: 'data' },
  bootstrapCreds: { path: 'nats/bootstrap.creds', secret: true, in: 'data' },
  orchestratorCreds: { path: UP_FILES.orchestratorCreds, secret: true, in: 'data' },
  writerCreds: { path: UP_FILES.writerCreds, secret: true, in: 'data' },
  adminCreds: { path: UP_FILES.adminCreds, secret: true, in: 'data' },
  operatorCreds: { path: UP_FILES.operatorCreds, secret: true, in: 'principal' },
  principalCertificate: { path: 'cell-certificate.json', secret: false, in: 'principal' },
} as const;
type FileName = keyof typeof INIT_FILES;
/** The users init mints with the account signing key, each with its grant. */
const CREDS = ['bootstrapCreds', 'orchestratorCreds', 'writerCreds', 'adminCreds', 'operatorCreds'] as const;
const DIRS = ['', 'keys', 'nats'];
const YEAR_MS = 365 * 24 * 3_600_000;

interface InitArgs {
  dir: string;
  /** absolute; absent or equal to `dir`: the principal's files go in the data dir (holonctl up's layout) */
  principalDir?: string;
  /** undefined: the existing certificate's name, else `local` */
  cellName: string | undefined;
  tpm: TpmMode;
  json: boolean;
}

/** The principal's directory when --principal-dir is not given: $XDG_CONFIG_HOME/holonet, else $HOME/.config/holonet. */
export function defaultPrincipalDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg !== undefined && xdg.startsWith('/')) return join(xdg, 'holonet');
  const home = env.HOME;
  if (home === undefined || !home.startsWith('/')) throw new UsageError('--principal-dir <path> is needed: neither XDG_CONFIG_HOME nor HOME is an absolute path');
  return join(home, '.config', 'holonet');
}

export function parseInitArgs(args: string[], env: NodeJS.ProcessEnv = {}): InitArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: { dir: { type: 'string' }, 'principal-dir': { type: 'string' }, 'cell-name': { type: 'string' }, tpm: { type: 'string' }, json: { type: 'boolean' } },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const cellName = values['cell-name'];
  if (cellName !== undefined && !CELL_NAME_PATTERN.test(cellName)) throw new UsageError(`--cell-name ${JSON.stringify(cellName)}: expected a DNS label like eu-west-1`);
  const tpm = values.tpm ?? DEFAULT_POLICY.tpm;
  if (!(TPM_MODES as readonly string[]).includes(tpm)) throw new UsageError(`--tpm ${JSON.stringify(tpm)}: expected required or optional`);
  const { dir } = resolveDir(values.dir, env);
  if (values['principal-dir'] === '') throw new UsageError('--principal-dir must not be empty');
  const principalDir = values['principal-dir'] !== undefined ? resolve(values['principal-dir']) : defaultPrincipalDir(env);
  const inside = relative(dir, principalDir);
  if (inside !== '' && !inside.startsWith('..')) {
    throw new UsageError(`--principal-dir ${principalDir} is inside the data dir ${dir}, which the orchestrator reads: keep the principal key outside it (or pass the data dir itself for one directory)`);
  }
  return { dir, principalDir, cellName, tpm: tpm as TpmMode, json: values.json === true };
}

/** A key file (format: bus-schemas/key-file.ts, shared with the agent's machine key), refused as a conflict. */
function readKeyFile(path: string, text: string): Signer {
  const r = decodeKeyFile(text);
  if (!r.ok) throw new InitConflictError(path, `not a valid key file (${r.reason})`);
  return signerFromSeed(r.seed);
}

/** `sub` and `iss` of a compact JWT, or undefined if it is not one. */
function jwtSubjects(text: string): { sub?: string; iss?: string; issuer_account?: string } | undefined {
  const body = /^(?:-----BEGIN NATS USER JWT-----\s*)?[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+/.exec(text.trim());
  if (body === null) return undefined;
  try {
    const c = JSON.parse(Buffer.from(body[1] as string, 'base64url').toString('utf8')) as { sub?: string; iss?: string; nats?: { issuer_account?: string } };
    return { ...(c.sub !== undefined ? { sub: c.sub } : {}), ...(c.iss !== undefined ? { iss: c.iss } : {}), ...(c.nats?.issuer_account !== undefined ? { issuer_account: c.nats.issuer_account } : {}) };
  } catch {
    return undefined;
  }
}

export interface InitReport {
  dir: string;
  /** where keys/principal.key, the certificate's copy and nats/holonctl.creds are */
  principal_dir: string;
  cell_name: string;
  principal_key: PublicKeyIdV1;
  cell_id: string;
  nats: { operator: string; system_account: string; account: string; account_signing_key: string };
  created: { path: string; mode: string }[];
  /** files that were already there (an interrupted run), left as they were */
  kept: string[];
}

/** Create (or complete) the data directory `a.dir` and the principal dir. Throws InitExistsError / InitConflictError with nothing changed. */
export async function initDataDir(a: InitArgs, ports: InitPorts, now = Date.now()): Promise<InitReport> {
  const principalDir = a.principalDir ?? a.dir;
  const names = (Object.keys(INIT_FILES) as FileName[]).filter((n) => n !== 'principalCertificate' || principalDir !== a.dir);
  const abs = (name: FileName): string => join(INIT_FILES[name].in === 'principal' ? principalDir : a.dir, INIT_FILES[name].path);
  const existing = new Map<FileName, string>();
  for (const name of names) {
    try {
      existing.set(name, await readFile(abs(name), 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new InitConflictError(abs(name), `cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (existing.size === names.length) throw new InitExistsError(a.dir);

  // Decide every key first (existing ones are checked, missing ones generated in memory), then
  // check the existing public files against them: a refusal must come before any write.
  const fresh = new Map<FileName, string>();
  const edKey = (name: 'principalKey' | 'cellKey'): Signer => {
    const text = existing.get(name);
    if (text !== undefined) return readKeyFile(abs(name), text);
    const seed = generateEd25519().seed;
    fresh.set(name, encodeKeyFile(seed));
    return signerFromSeed(seed);
  };
  const nkey = (name: 'operatorSeed' | 'systemSeed' | 'accountSeed' | 'signingSeed', kind: 'operator' | 'account'): string => {
    const text = existing.get(name);
    if (text === undefined) {
      const seed = ports.natsTrust.createSeed(kind);
      fresh.set(name, `${seed}\n`);
      return seed;
    }
    try {
      ports.natsTrust.publicKey(text.trim(), kind);
    } catch {
      throw new InitConflictError(abs(name), `not an ${kind} nkey seed`);
    }
    return text.trim();
  };
  const principal = edKey('principalKey');
  const cell = edKey('cellKey');
  const seeds = { operator: nkey('operatorSeed', 'operator'), system: nkey('systemSeed', 'account'), account: nkey('accountSeed', 'account'), accountSigning: nkey('signingSeed', 'account') };
  const pub = {
    operator: ports.natsTrust.publicKey(seeds.operator, 'operator'),
    system: ports.natsTrust.publicKey(seeds.system, 'account'),
    account: ports.natsTrust.publicKey(seeds.account, 'account'),
    signing: ports.natsTrust.publicKey(seeds.accountSigning, 'account'),
  };
  const principalKey = encodeId('key', principal.publicKey);
  const cellId = encodeId('cell', cell.publicKey);
  const cellName = checkExisting(existing, abs, { principalKey, cellId, ...pub }, a.cellName) ?? a.cellName ?? 'local';

  for (const d of [...new Set([a.dir, principalDir])].flatMap((root) => DIRS.map((sub) => join(root, sub)))) {
    await mkdir(d, { recursive: true, mode: 0o700 });
    await chmod(d, 0o700);
    await removeStaleTemps(d);
  }
  const created: FileName[] = [];
  const put = async (name: FileName, text: string): Promise<void> => {
    if (existing.has(name)) return;
    const mode = INIT_FILES[name].secret ? 0o600 : 0o644;
    if ((await ports.writeFileExclusive(abs(name), text, mode)) === 'exists') {
      throw new InitConflictError(abs(name), 'appeared while init was running (another init?)');
    }
    created.push(name);
  };
  // Keys first: once they are on disk, everything else can be derived again.
  for (const [name, text] of fresh) await put(name, text);
  if (!existing.has('bootstrapCreds')) await put('bootstrapCreds', await ports.natsTrust.bootstrapCreds(seeds));
  // One least-privilege identity per job (bus-schemas/grants, docs/security.md), as holonctl up mints them.
  const grants: Record<Exclude<(typeof CREDS)[number], 'bootstrapCreds'>, UserGrant> = {
    orchestratorCreds: orchestratorServeGrant(cellId),
    writerCreds: ledgerWriterGrant(cellId),
    adminCreds: adminGrant(cellId),
    operatorCreds: operatorGrant(principalKey),
  };
  for (const [name, grant] of Object.entries(grants) as [keyof typeof grants, UserGrant][]) {
    if (!existing.has(name)) await put(name, await ports.mintCellUser(seeds, grant));
  }

  const cert = CellCertificateV1.seal(
    { cell_id: cellId, name: cellName, principal_key: principalKey, not_before: now, not_after: now + YEAR_MS, allowed_roles: [...HOLON_ROLES] },
    principal,
  );
  await put('cellCertificate', `${JSON.stringify(cert, null, 2)}\n`);
  if (names.includes('principalCertificate')) await put('principalCertificate', existing.get('cellCertificate') ?? `${JSON.stringify(cert, null, 2)}\n`);
  const policy = PolicyV1.seal(
    {
      serial: 1,
      principal_key: principalKey,
      issued_at: now,
      tpm: a.tpm,
      tpm_required_roles: [],
      pcr_golden: [],
      preapproved_eks: [],
      denied_jurisdictions: [],
      admission_difficulty: DEFAULT_POLICY.admission_difficulty,
      nonce_lifetime_ms: DEFAULT_POLICY.nonce_lifetime_ms,
    },
    principal,
  );
  await put('policy', `${JSON.stringify(policy, null, 2)}\n`);
  const jwt = async (name: 'operatorJwt' | 'systemJwt' | 'accountJwt', make: () => Promise<string>): Promise<string> => {
    const text = existing.get(name) ?? `${await make()}\n`;
    await put(name, text);
    return text.trim();
  };
  const operatorJwt = await jwt('operatorJwt', () => ports.natsTrust.operatorJwt(seeds, `holonet-${cellName}`));
  const systemJwt = await jwt('systemJwt', () => ports.natsTrust.systemAccountJwt(seeds));
  const accountJwt = await jwt('accountJwt', () => ports.natsTrust.cellAccountJwt(seeds, cellName));
  await put(
    'authConf',
    ports.natsTrust.serverAuthConfig({
      operatorJwt,
      systemAccount: pub.system,
      accounts: [
        { name: 'SYS', public: pub.system, jwt: systemJwt },
        { name: cellName, public: pub.account, jwt: accountJwt },
      ],
    }),
  );

  const entry = (name: FileName): { path: string; mode: string } => ({ path: abs(name), mode: INIT_FILES[name].secret ? '0600' : '0644' });
  return {
    dir: a.dir,
    principal_dir: principalDir,
    cell_name: cellName,
    principal_key: principalKey,
    cell_id: cellId,
    nats: { operator: pub.operator, system_account: pub.system, account: pub.account, account_signing_key: pub.signing },
    created: created.map(entry),
    kept: [...existing.keys()].map(abs),
  };
}

interface Expected {
  principalKey: PublicKeyIdV1;
  cellId: string;
  operator: string;
  system: string;
  account: string;
  signing: string;
}

/**
 * Every existing public file must belong to the keys beside it; else refuse
 * before writing. Returns the existing certificate's cell name, if any.
 */
function checkExisting(existing: Map<FileName, string>, abs: (n: FileName) => string, want: Expected, cellName: string | undefined): string | undefined {
  const parsed = <T>(name: FileName, decode: (text: string) => T): T | undefined => {
    const text = existing.get(name);
    if (text === undefined) return undefined;
    try {
      return decode(text);
    } catch (e) {
      throw new InitConflictError(abs(name), e instanceof HolonError ? e.message : 'not valid JSON');
    }
  };
  const copy = existing.get('principalCertificate');
  if (copy !== undefined && copy !== existing.get('cellCertificate')) {
    throw new InitConflictError(abs('principalCertificate'), `is not ${abs('cellCertificate')}: this principal dir belongs to another cell; pass another --principal-dir`);
  }
  const cert = parsed('cellCertificate', (t) => CellCertificateV1.decode(t));
  if (cert !== undefined) {
    if (cert.principal_key !== want.principalKey) {
      // No principal key where this run looked: it is in another principal dir (holonctl up keeps it in its data dir).
      const elsewhere = existing.has('principalKey') ? '' : ` (there is no ${abs('principalKey')}: pass the --principal-dir that holds it)`;
      throw new InitConflictError(abs('cellCertificate'), `signed by ${cert.principal_key}, not by keys/principal.key${elsewhere}`);
    }
    if (cert.cell_id !== want.cellId) throw new InitConflictError(abs('cellCertificate'), `certifies ${cert.cell_id}, not keys/cell.key`);
    if (cellName !== undefined && cert.name !== cellName) throw new InitConflictError(abs('cellCertificate'), `names the cell ${cert.name}, not ${cellName}`);
  }
  const policy = parsed('policy', (t) => PolicyV1.decode(t));
  if (policy !== undefined && policy.principal_key !== want.principalKey) {
    throw new InitConflictError(abs('policy'), `signed by ${policy.principal_key}, not by keys/principal.key`);
  }
  const jwtChecks: [FileName, string, string][] = [
    ['operatorJwt', want.operator, want.operator],
    ['systemJwt', want.system, want.operator],
    ['accountJwt', want.account, want.operator],
    ...CREDS.map((name): [FileName, string, string] => [name, '', want.signing]),
  ];
  for (const [name, sub, iss] of jwtChecks) {
    const text = existing.get(name);
    if (text === undefined) continue;
    const c = jwtSubjects(text);
    if (c === undefined || (sub !== '' && c.sub !== sub) || c.iss !== iss) {
      throw new InitConflictError(abs(name), 'does not belong to the nkeys in nats/');
    }
    if ((CREDS as readonly FileName[]).includes(name) && c.issuer_account !== want.account) throw new InitConflictError(abs(name), 'is not a user of nats/account.nk');
  }
  const conf = existing.get('authConf');
  if (conf !== undefined && !(conf.includes(`system_account: ${want.system}`) && conf.includes(`${want.account}:`))) {
    throw new InitConflictError(abs('authConf'), 'does not name the accounts in nats/');
  }
  return cert?.name;
}

/** Temp files of an interrupted run (`<name>.tmp-<pid>-<t>`) are never a finished file: remove them. */
async function removeStaleTemps(dir: string): Promise<void> {
  for (const f of await readdir(dir)) if (/\.tmp-\d+-[0-9a-z]+$/.test(f)) await unlink(join(dir, f)).catch(() => undefined);
}

function printHuman(io: CliIo, r: InitReport): void {
  writeLine(io.stdout, r.kept.length === 0 ? `initialized ${r.dir}` : `completed ${r.dir} (kept ${r.kept.length} existing files)`);
  writeLine(io.stdout, `  cell          ${r.cell_name} (${r.cell_id})`);
  writeLine(io.stdout, `  principal key ${r.principal_key}`);
  writeLine(io.stdout, `  nats operator ${r.nats.operator}`);
  writeLine(io.stdout, `  nats account  ${r.nats.account} (system ${r.nats.system_account})`);
  writeLine(io.stdout, 'created:');
  for (const f of r.created) writeLine(io.stdout, `  ${f.mode}  ${f.path}`);
  writeLine(io.stdout, `include ${join(r.dir, INIT_FILES.authConf.path)} in nats-server.conf; copy ${join(r.dir, INIT_FILES.bootstrapCreds.path)} to every agent.`);
  if (r.principal_dir !== r.dir) {
    writeLine(io.stdout, `the principal's files are in ${r.principal_dir}: holonctl's data dir (--dir ${r.principal_dir}, or HOLONET_DIR); keep ${join(r.principal_dir, INIT_FILES.principalKey.path)} off the cell.`);
  } else {
    writeLine(io.stdout, `keep ${join(r.dir, INIT_FILES.principalKey.path)} offline once the cell runs.`);
  }
}

async function runInit(args: string[], io: CliIo, ports: CliPorts & InitPorts): Promise<number> {
  const a = parseInitArgs(args, io.env);
  const report = await initDataDir(a, ports);
  if (a.json) writeLine(io.stdout, JSON.stringify(report, null, 2));
  else printHuman(io, report);
  return EXIT_OK;
}

export const initCommand: Command = {
  name: 'init',
  summary: 'create the principal key, cell certificate, policy and NATS trust in a data dir',
  help: HELP,
  // runCli always passes CliPorts & InitPorts (cli/run.ts); Command's method type is bivariant.
  run: runInit,
};
