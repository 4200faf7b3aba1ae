/**
 * The agent's own state directory, behind a small port (DESIGN §3: keys
 * live in the agent's data dir, 0600 in a 0700 directory). The bootstrap
 * client and key loaders see only this; tests use a temp dir with the same
 * file-system implementation the daemon uses (fs-key-store.ts).
 */

export interface StoredFile {
  bytes: Uint8Array;
  /** permission bits (mode & 0o777) */
  mode: number;
}

export interface KeyStore {
  /** The directory, for messages. */
  readonly dir: string;
  /** Absolute path of `name` (for messages and for handing a .creds file to the NATS client). */
  path(name: string): string;
  /** Create the directory (0700) if absent and narrow it to 0700 if it is wider; returns true if it narrowed it. */
  prepare(): Promise<boolean>;
  /** The file's bytes and mode, or undefined if there is none. */
  read(name: string): Promise<StoredFile | undefined>;
  /** Write a new file with `mode`, whole or not at all, never replacing one: 'exists' if there is one. */
  create(name: string, bytes: Uint8Array, mode: number): Promise<'written' | 'exists'>;
  /** Replace (or create) a file atomically: temp file, fsync, rename, fsync the directory. */
  replace(name: string, bytes: Uint8Array, mode: number): Promise<void>;
  /** Remove if present. */
  remove(name: string): Promise<void>;
  /** Names of the files directly in the directory that start with `prefix`. */
  list(prefix: string): Promise<string[]>;
}

/** File names below the data dir. Secrets are 0600. */
export const AGENT_FILES = {
  machineKey: 'machine.key',
  natsSeed: 'nats-user.nk',
  creds: 'holon.creds',
  state: 'state.json',
  tpmDir: 'tpm',
} as const;

export const SECRET_MODE = 0o600;
