/**
 * What the agent keeps about each unit in its data dir, keyed by the unit
 * name: the persisted step of its state machine (`unit-<name>.json`) and the
 * unit's holon key and NATS key (`unit-<name>.key`, `unit-<name>.nk`), all
 * 0600. The steps themselves are in unit-steps.ts.
 */
import { HolonError } from '../bus-schemas/errors.js';
import { encodeId, type HolonIdV1 } from '../bus-schemas/ids.js';
import { signerFromSeed, type Signer } from '../bus-schemas/keys.js';
import type { KeyStore } from './key-store.js';
import { SECRET_MODE } from './key-store.js';
import type { NkeyPort } from './machine-key.js';

/** DESTROYED is a tombstone: a provision command redelivered after its unit was torn down is acked, never re-run. */
export type Step = 'RECEIVED' | 'CREATED' | 'KEYED' | 'SECRETS' | 'REPORTED' | 'DONE' | 'DESTROYED';

/** The order of the provisioning steps; a state only ever moves forward in it. */
export const STEP_ORDER: readonly Step[] = ['RECEIVED', 'CREATED', 'KEYED', 'SECRETS', 'REPORTED', 'DONE'];

export interface UnitState {
  request_digest: string;
  unit_name: string;
  step: Step;
  holon_id: HolonIdV1;
  nats_user_key: string;
  /** the cell-sealed command being carried out (canonical JSON): a restart resumes it without waiting for redelivery */
  command: string;
  /** the cell's receipt and JWT, once REPORTED */
  receipt?: string;
  jwt?: string;
}

/** Files the agent writes into every unit's home, relative to the unit root. */
export const UNIT_FILES = {
  dir: 'home/unit',
  holonKey: 'home/unit/holon.key',
  creds: 'home/unit/holon.creds',
  certificate: 'home/unit/holon-certificate.json',
  receipt: 'home/unit/provisioning-receipt.json',
  env: 'home/unit/.env',
} as const;

export class UnitCommandError extends HolonError {
  static readonly CODE = 'HOLON_E_UNIT_COMMAND';
  constructor(message: string, options?: { cause?: unknown }) {
    super(UnitCommandError.CODE, `unit command: ${message}`, options);
  }
}

/** A unit's holon key and NATS key, as made by the agent. */
export interface UnitKeys {
  signer: Signer;
  seed: Uint8Array;
  holonId: HolonIdV1;
  natsSeed: string;
  natsPublic: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const STATE_PREFIX = 'unit-';
const stateFile = (unit: string): string => `${STATE_PREFIX}${unit}.json`;
const holonKeyFile = (unit: string): string => `${STATE_PREFIX}${unit}.key`;
const natsKeyFile = (unit: string): string => `${STATE_PREFIX}${unit}.nk`;

export class UnitStates {
  readonly #store: KeyStore;
  readonly #nkeys: NkeyPort;
  readonly #crashAfter: string | undefined;

  /** `crashAfter`: test fault injection, SIGKILL this process right after persisting this step. */
  constructor(store: KeyStore, nkeys: NkeyPort, crashAfter?: string) {
    this.#store = store;
    this.#nkeys = nkeys;
    this.#crashAfter = crashAfter;
  }

  async read(unit: string): Promise<UnitState | undefined> {
    const f = await this.#store.read(stateFile(unit));
    return f === undefined ? undefined : (JSON.parse(dec.decode(f.bytes)) as UnitState);
  }

  async save(s: UnitState): Promise<void> {
    await this.#store.replace(stateFile(s.unit_name), enc.encode(JSON.stringify(s)), SECRET_MODE);
    if (this.#crashAfter === s.step) process.kill(process.pid, 'SIGKILL');
  }

  /** Names of the units with a state file. */
  async units(): Promise<string[]> {
    return (await this.#store.list(STATE_PREFIX)).filter((f) => f.endsWith('.json')).map((f) => f.slice(STATE_PREFIX.length, -'.json'.length));
  }

  /** The holon key and NATS key of a unit: made once (create-if-absent), kept 0600 in the agent's data dir. */
  async keys(unit: string): Promise<UnitKeys> {
    await this.#store.create(holonKeyFile(unit), enc.encode(Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')), SECRET_MODE);
    await this.#store.create(natsKeyFile(unit), enc.encode(this.#nkeys.createUserSeed()), SECRET_MODE);
    const holonFile = await this.#store.read(holonKeyFile(unit));
    const natsFile = await this.#store.read(natsKeyFile(unit));
    if (holonFile === undefined || natsFile === undefined) throw new UnitCommandError(`the keys of unit ${unit} vanished while being made`);
    const seed = new Uint8Array(Buffer.from(dec.decode(holonFile.bytes).trim(), 'base64url'));
    const natsSeed = dec.decode(natsFile.bytes).trim();
    const signer = signerFromSeed(seed);
    return { signer, seed, holonId: encodeId('holon', signer.publicKey), natsSeed, natsPublic: this.#nkeys.userPublicKey(natsSeed) };
  }

  async removeKeys(unit: string): Promise<void> {
    for (const f of [holonKeyFile(unit), natsKeyFile(unit)]) await this.#store.remove(f);
  }
}
