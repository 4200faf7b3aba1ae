/**
 * The machine's identity (DESIGN §3): an Ed25519 machine key generated at
 * first start, and the agent's own NATS user nkey, whose public half goes in
 * the hello so the cell can sign a user JWT for it. Both are 0600 files in
 * the 0700 data dir; a key file that group or others can read is refused
 * (it may already have leaked), never silently narrowed.
 */
import { encodeId, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { generateEd25519, publicKeyFromSeed, signerFromSeed, type Signer } from '../bus-schemas/keys.js';
import { KeyFileError } from './agent-error.js';
import { AGENT_FILES, SECRET_MODE, type KeyStore, type StoredFile } from './key-store.js';

/** NATS nkey operations the agent needs; main.ts wires adapters/nats/credentials. */
export interface NkeyPort {
  /** A fresh user seed (`SU…`). */
  createUserSeed(): string;
  /** The public key (`U…`) of a user seed; throws if it is not one. */
  userPublicKey(seed: string): string;
  /** The text of a .creds file holding `jwt` and `seed`. */
  formatCreds(jwt: string, seed: string): string;
}

export interface MachineIdentity {
  signer: Signer;
  machineId: PublicKeyIdV1;
  created: boolean;
}

/** The agent's NATS user key. The seed is kept out of JSON and logs. */
export class NatsUserKey {
  readonly publicKey: string;
  readonly #seed: string;
  constructor(seed: string, publicKey: string) {
    this.#seed = seed;
    this.publicKey = publicKey;
  }
  seed(): string {
    return this.#seed;
  }
  toJSON(): Record<string, unknown> {
    return { publicKey: this.publicKey, seed: '[redacted]' };
  }
}

interface Ed25519KeyFile {
  type: 'holonet.ed25519-seed';
  key_id: PublicKeyIdV1;
  seed: string;
}

/** Same format as `holonctl init`'s key files. */
function encodeKeyFile(seed: Uint8Array): Uint8Array {
  const file: Ed25519KeyFile = { type: 'holonet.ed25519-seed', key_id: encodeId('key', publicKeyFromSeed(seed)), seed: Buffer.from(seed).toString('base64url') };
  return new TextEncoder().encode(`${JSON.stringify(file)}\n`);
}

/** Refuse a secret file that group or others may read or write. */
export function checkSecretMode(path: string, file: StoredFile): void {
  if ((file.mode & 0o077) !== 0) {
    throw new KeyFileError(path, `mode ${file.mode.toString(8).padStart(4, '0')} lets group or others read it; the key may have leaked. Refusing to start (chmod 600 only if you are sure it did not)`);
  }
}

function decodeKeyFile(path: string, file: StoredFile): Signer {
  checkSecretMode(path, file);
  let parsed: Partial<Ed25519KeyFile>;
  try {
    parsed = JSON.parse(new TextDecoder().decode(file.bytes)) as Partial<Ed25519KeyFile>;
  } catch {
    throw new KeyFileError(path, 'not a holonet key file (invalid JSON)');
  }
  if (parsed.type !== 'holonet.ed25519-seed' || typeof parsed.seed !== 'string') throw new KeyFileError(path, 'not a holonet.ed25519-seed key file');
  let signer: Signer;
  try {
    signer = signerFromSeed(new Uint8Array(Buffer.from(parsed.seed, 'base64url')));
  } catch (e) {
    throw new KeyFileError(path, 'the seed is not a 32-byte Ed25519 seed', { cause: e });
  }
  if (encodeId('key', signer.publicKey) !== parsed.key_id) throw new KeyFileError(path, 'key_id does not match the seed');
  return signer;
}

/** Load the machine key, or generate it on first start (0600, never replacing an existing file). */
export async function loadOrCreateMachineKey(store: KeyStore): Promise<MachineIdentity> {
  const path = store.path(AGENT_FILES.machineKey);
  let file = await store.read(AGENT_FILES.machineKey);
  let created = false;
  if (file === undefined) {
    const { seed } = generateEd25519();
    // Another agent racing us (two starts) loses the link(2) and reads the winner's key.
    created = (await store.create(AGENT_FILES.machineKey, encodeKeyFile(seed), SECRET_MODE)) === 'written';
    file = await store.read(AGENT_FILES.machineKey);
    if (file === undefined) throw new KeyFileError(path, 'vanished right after it was written');
  }
  const signer = decodeKeyFile(path, file);
  return { signer, machineId: encodeId('key', signer.publicKey), created };
}

/** Load the agent's NATS user nkey, or create it on first start (0600). */
export async function loadOrCreateNatsKey(store: KeyStore, nkeys: NkeyPort): Promise<{ key: NatsUserKey; created: boolean }> {
  const path = store.path(AGENT_FILES.natsSeed);
  let file = await store.read(AGENT_FILES.natsSeed);
  let created = false;
  if (file === undefined) {
    created = (await store.create(AGENT_FILES.natsSeed, new TextEncoder().encode(`${nkeys.createUserSeed()}\n`), SECRET_MODE)) === 'written';
    file = await store.read(AGENT_FILES.natsSeed);
    if (file === undefined) throw new KeyFileError(path, 'vanished right after it was written');
  }
  checkSecretMode(path, file);
  const seed = new TextDecoder().decode(file.bytes).trim();
  let publicKey: string;
  try {
    publicKey = nkeys.userPublicKey(seed);
  } catch (e) {
    throw new KeyFileError(path, 'not a NATS user nkey seed (SU…)', { cause: e });
  }
  return { key: new NatsUserKey(seed, publicKey), created };
}
