/**
 * NATS decentralized auth for a cell (operator mode): an operator, the
 * system account, and one cell account whose users are minted with the
 * account's signing key (so the account key itself can stay cold).
 *
 * What each kind of user may publish and subscribe to is decided in
 * bus-schemas/grants.ts (docs/security.md); here a grant becomes a user JWT.
 * A shared `_INBOX.>` subscription would let every holon read every other
 * holon's replies, so it is never granted; neither is `allow_responses`.
 *
 * Seeds are handled as strings here and written only to 0600 files by the
 * caller; no function here logs or returns them inside an error message.
 */
import { link, open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createAccount, createOperator, createUser, fromSeed, type KeyPair } from '@nats-io/nkeys';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds, type OperatorLimits, type Permissions } from '@nats-io/jwt';
import { HolonError } from '../../bus-schemas/errors.js';
import type { UserGrant } from '../../bus-schemas/grants.js';

/** Something wrong with an nkey seed, a permission or a creds file; never carries the secret. */
export class CredentialsError extends HolonError {
  static readonly CODE = 'HOLON_E_NATS_CREDENTIALS';
  constructor(message: string, options?: { cause?: unknown }) {
    super(CredentialsError.CODE, `credentials(nats): ${message}`, options);
  }
}

export type NkeyKind = 'operator' | 'account' | 'user';
const SEED_PREFIX: Record<NkeyKind, string> = { operator: 'SO', account: 'SA', user: 'SU' };
const PUBLIC_PREFIX: Record<NkeyKind, string> = { operator: 'O', account: 'A', user: 'U' };

/** A fresh nkey seed (`SO…`, `SA…`, `SU…`). Secret: write it only to a 0600 file. */
export function createNkeySeed(kind: NkeyKind): string {
  const kp = kind === 'operator' ? createOperator() : kind === 'account' ? createAccount() : createUser();
  return new TextDecoder().decode(kp.getSeed());
}

/*
 * Key pairs by seed: @nats-io/nkeys derives the public key in pure JS
 * (tweetnacl) on every fromSeed, a few milliseconds each; the orchestrator
 * mints a JWT per provisioned holon with the same two account keys, so they
 * are derived once per process.
 */
const KEYPAIRS = new Map<string, KeyPair>();

function keyPair(seed: string, kind: NkeyKind, what: string): KeyPair {
  const cached = KEYPAIRS.get(`${kind}:${seed.trim()}`);
  if (cached !== undefined) return cached;
  const kp = deriveKeyPair(seed, kind, what);
  if (KEYPAIRS.size > 64) KEYPAIRS.clear();
  KEYPAIRS.set(`${kind}:${seed.trim()}`, kp);
  return kp;
}

function deriveKeyPair(seed: string, kind: NkeyKind, what: string): KeyPair {
  const text = seed.trim();
  if (!text.startsWith(SEED_PREFIX[kind])) throw new CredentialsError(`${what} is not an ${kind} nkey seed`);
  let kp: KeyPair;
  try {
    kp = fromSeed(new TextEncoder().encode(text));
  } catch (e) {
    throw new CredentialsError(`${what} is not a valid nkey seed (${(e as { code?: string }).code ?? 'bad encoding'})`);
  }
  if (!kp.getPublicKey().startsWith(PUBLIC_PREFIX[kind])) throw new CredentialsError(`${what} is not an ${kind} nkey seed`);
  return kp;
}

/** The public nkey (`O…`, `A…`, `U…`) of a seed; throws CredentialsError if it is not a seed of `kind`. */
export function nkeyPublic(seed: string, kind: NkeyKind, what = `${kind} seed`): string {
  return keyPair(seed, kind, what).getPublicKey();
}

/** The four seeds of a cell's NATS trust: operator, system account, cell account, its signing key. */
export interface NatsAuthoritySeeds {
  operator: string;
  system: string;
  account: string;
  accountSigning: string;
}

/**
 * Explicit account limits: an account JWT without them gets 0 connections
 * on nats-server 2.9. -1 = unlimited; the per-user JWTs narrow subjects.
 */
const CONNECTION_LIMITS: OperatorLimits = { conn: -1, leaf: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true };
/** JetStream is on for an account when its storage limits are non-zero. */
const JETSTREAM_LIMITS: OperatorLimits = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };

export function encodeOperatorJwt(seeds: Pick<NatsAuthoritySeeds, 'operator' | 'system'>, name: string): Promise<string> {
  const op = keyPair(seeds.operator, 'operator', 'operator seed');
  return encodeOperator(name, op, { system_account: nkeyPublic(seeds.system, 'account', 'system account seed') });
}

export function encodeSystemAccountJwt(seeds: Pick<NatsAuthoritySeeds, 'operator' | 'system'>): Promise<string> {
  const op = keyPair(seeds.operator, 'operator', 'operator seed');
  return encodeAccount('SYS', keyPair(seeds.system, 'account', 'system account seed'), { limits: CONNECTION_LIMITS }, { signer: op });
}

/** The cell account: JetStream enabled, users minted by `accountSigning` (listed as a signing key). */
export function encodeCellAccountJwt(seeds: Pick<NatsAuthoritySeeds, 'operator' | 'account' | 'accountSigning'>, name: string): Promise<string> {
  const op = keyPair(seeds.operator, 'operator', 'operator seed');
  return encodeAccount(
    name,
    keyPair(seeds.account, 'account', 'cell account seed'),
    {
      limits: { ...CONNECTION_LIMITS, ...JETSTREAM_LIMITS },
      signing_keys: [nkeyPublic(seeds.accountSigning, 'account', 'account signing seed')],
    },
    { signer: op },
  );
}

/** NATS subject tokens we accept in permissions: printable, no spaces, bounded. */
const SUBJECT_PATTERN = /^[A-Za-z0-9_$-]+(?:\.(?:[A-Za-z0-9_$-]+|\*))*(?:\.>)?$|^>$/;

function checkSubjects(subjects: readonly string[], what: string): string[] {
  for (const s of subjects) {
    if (s.length > 256 || !SUBJECT_PATTERN.test(s)) throw new CredentialsError(`${what}: ${JSON.stringify(s.slice(0, 80))} is not a NATS subject`);
  }
  return [...new Set(subjects)];
}

export type { UserGrant } from '../../bus-schemas/grants.js';

export interface MintedUser {
  /** the .creds text (JWT + user seed): secret, write 0600 */
  creds: string;
  jwt: string;
  userPublic: string;
}

/**
 * A user JWT of the cell account for an existing user public key (an agent's
 * own nkey: its seed never leaves the machine), signed by the account signing
 * key, allowed exactly `grant`.
 */
export async function mintUserJwt(
  seeds: Pick<NatsAuthoritySeeds, 'account' | 'accountSigning'>,
  grant: UserGrant,
  userPublic: string,
): Promise<string> {
  if (!/^U[A-Z2-7]{55}$/.test(userPublic)) throw new CredentialsError('the user public key is not a NATS user nkey (U…)');
  const signer = keyPair(seeds.accountSigning, 'account', 'account signing seed');
  const accountPublic = nkeyPublic(seeds.account, 'account', 'cell account seed');
  const permissions: Permissions = {
    pub: {
      allow: checkSubjects(grant.publish, 'publish'),
      ...(grant.publishDeny !== undefined && grant.publishDeny.length > 0 ? { deny: checkSubjects(grant.publishDeny, 'publish deny') } : {}),
    },
    sub: { allow: checkSubjects(grant.subscribe, 'subscribe') },
  };
  // No `resp` (allow_responses): it would let the user publish to any reply subject a requester names.
  const opts = grant.expiresAt !== undefined ? { signer, exp: Math.floor(grant.expiresAt / 1000) } : { signer };
  return encodeUser(grant.name, userPublic, accountPublic, permissions, opts);
}

/** Mint a new user (key pair and JWT) of the cell account, allowed exactly `grant`. */
export async function mintUser(seeds: Pick<NatsAuthoritySeeds, 'account' | 'accountSigning'>, grant: UserGrant): Promise<MintedUser> {
  const user = createUser();
  const jwt = await mintUserJwt(seeds, grant, user.getPublicKey());
  const creds = new TextDecoder().decode(fmtCreds(jwt, user));
  return { creds, jwt, userPublic: user.getPublicKey() };
}

/**
 * The operator-mode part of a nats-server config: include it from the main
 * config (`include "auth.conf"`). The memory resolver takes the account JWTs
 * from `resolver_preload`; a new account means a new fragment and a reload.
 */
export function renderServerAuthConfig(opts: { operatorJwt: string; systemAccount: string; accounts: { public: string; jwt: string; name: string }[] }): string {
  const jwtText = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
  for (const j of [opts.operatorJwt, ...opts.accounts.map((a) => a.jwt)]) {
    if (!jwtText.test(j)) throw new CredentialsError('a JWT for the server config is not in compact form');
  }
  for (const a of [opts.systemAccount, ...opts.accounts.map((x) => x.public)]) {
    if (!/^A[A-Z2-7]{55}$/.test(a)) throw new CredentialsError(`${JSON.stringify(a.slice(0, 60))} is not an account public key`);
  }
  for (const n of opts.accounts.map((x) => x.name)) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(n)) throw new CredentialsError(`${JSON.stringify(n.slice(0, 60))} is not an account name for a config comment`);
  }
  return [
    '# Generated by holonctl init: NATS operator mode for this cell.',
    `operator: "${opts.operatorJwt}"`,
    `system_account: ${opts.systemAccount}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    ...opts.accounts.flatMap((a) => [`  # ${a.name}`, `  ${a.public}: "${a.jwt}"`]),
    '}',
    '',
  ].join('\n');
}

/**
 * Write `text` to `path` with `mode`, all or nothing, never replacing an
 * existing file: a temp file in the same directory, fsync, then link(2)
 * (which fails with EEXIST instead of overwriting), then the temp name goes.
 * A crash leaves either no file at `path` or the whole file (and perhaps a
 * `.tmp-` file, which the next writer ignores).
 */
export async function writeFileExclusive(path: string, text: string | Uint8Array, mode: number): Promise<'written' | 'exists'> {
  const tmp = `${path}.tmp-${process.pid}-${Date.now().toString(36)}`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(text);
    await fh.chmod(mode); // the umask may have narrowed or widened nothing, but say it exactly
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path);
    await syncDir(dirname(path));
    return 'written';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
    throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write a .creds file 0600; refuses (CredentialsError) to replace an existing one. */
export async function writeCredsFile(path: string, creds: string): Promise<void> {
  if ((await writeFileExclusive(path, creds, 0o600)) === 'exists') throw new CredentialsError(`${path} exists; not replacing a credential`);
}

/**
 * The inbox prefix a .creds file's user is allowed to subscribe to: the one
 * `_INBOX.<token…>.>` of its JWT's subscribe permissions (bus-schemas/grants
 * gives every identity exactly one), so a client needs no other setting to
 * get replies. Undefined when the JWT names none or several (a development
 * user allowed `>` uses the default inbox).
 */
export function inboxPrefixFromCreds(creds: string): string | undefined {
  const jwt = /-{5,6}BEGIN NATS USER JWT-{5,6}\s*([A-Za-z0-9_.-]+)\s*-{5,6}END NATS USER JWT/.exec(creds)?.[1];
  const payload = jwt?.split('.')[1];
  if (payload === undefined) return undefined;
  let allow: unknown;
  try {
    allow = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { nats?: { sub?: { allow?: unknown } } }).nats?.sub?.allow;
  } catch {
    return undefined;
  }
  if (!Array.isArray(allow)) return undefined;
  const inboxes = allow.filter((s): s is string => typeof s === 'string' && /^_INBOX(?:\.[A-Za-z0-9_-]+)+\.>$/.test(s));
  return inboxes.length === 1 ? (inboxes[0] as string).slice(0, -2) : undefined;
}
