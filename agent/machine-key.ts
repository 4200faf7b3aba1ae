/**
 * The machine's identity (DESIGN §3): an Ed25519 machine key generated at
 * first start, and the agent's own NATS user nkey, whose public half goes in
 * the hello so the cell can sign a user JWT for it. Both are 0600 files in
 * the 0700 data dir; a key file that group or others can read is refused
 * (it may already have leaked), never silently narrowed.
 */
import { encodeId, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { decodeKeyFile, encodeKeyFile } from '../bus-schemas/key-file.js';
import { generateEd25519, signerFromSeed, type Signer } from '../bus-schemas/keys.js';
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

/** Refuse a secret file that group or others may read or write. */
export function checkSecretMode(path: string, file: StoredFile): void {
  if ((file.mode & 0o077) !== 0) {
    throw new KeyFileError(path, `mode ${file.mode.toString(8).padStart(4, '0')} lets group or others read it; the key may have leaked. Refusing to start (chmod 600 only if you are sure it did not)`);
  }
}

/** The machine key file (format: bus-schemas/key-file.ts), refused as a KeyFileError. */
function readKeyFile(path: string, file: StoredFile): Signer {
  checkSecretMode(path, file);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.bytes);
  } catch {
    throw new KeyFileError(path, 'not a holonet key file (not UTF-8)');
  }
  const r = decodeKeyFile(text);
  if (!r.ok) throw new KeyFileError(path, r.reason);
  return signerFromSeed(r.seed);
}

/** Load the machine key, or generate it on first start (0600, never replacing an existing file). */
export async function loadOrCreateMachineKey(store: KeyStore): Promise<MachineIdentity> {
  const path = store.path(AGENT_FILES.machineKey);
  let file = await store.read(AGENT_FILES.machineKey);
  let created = false;
  if (file === undefined) {
    const { seed } = generateEd25519();
    // Another agent racing us (two starts) loses the link(2) and reads the winner's key.
    created = (await store.create(AGENT_FILES.machineKey, new TextEncoder().encode(encodeKeyFile(seed)), SECRET_MODE)) === 'written';
    file = await store.read(AGENT_FILES.machineKey);
    if (file === undefined) throw new KeyFileError(path, 'vanished right after it was written');
  }
  const signer = readKeyFile(path, file);
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
