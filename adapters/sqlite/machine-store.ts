/**
 * sqlite(machines): the orchestrator's projection in one better-sqlite3 file
 * (WAL, synchronous=FULL, mode 0600). It can always be rebuilt from the
 * ledger (orchestrator/ledger-rebuild.ts); the sessions, seen quotes and AK
 * clocks it also holds are what make nonces single-use and quotes
 * unreplayable across restarts.
 */
import type { MachineStorePort, OutboxEntry, StepWrite, StoredSession, TpmClockRecord } from '../../bus-schemas/stores/machine-store-port.js';
import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { HolonError } from '../../bus-schemas/errors.js';
import type { PublicKeyIdV1 } from '../../bus-schemas/ids.js';

/*
 * The port is declared once, generic over the record, in
 * bus-schemas/stores/machine-store-port.ts (the orchestrator instantiates it
 * with MachineRecord). Records are stored as JSON; the adapter reads only
 * these fields of one.
 */
export interface StoredMachine {
  machineId: string;
  state: string;
  since: number;
}
export type { OutboxEntry, StoredSession, StepWrite, TpmClockRecord } from '../../bus-schemas/stores/machine-store-port.js';

export class SqliteStoreError extends HolonError {
  static readonly CODE = 'HOLON_E_SQLITE';
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(SqliteStoreError.CODE, `sqlite(machines): ${path}: ${message}`, options);
    this.path = path;
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS machines (
  machine_id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  since INTEGER NOT NULL,
  record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  machine_id TEXT PRIMARY KEY,
  hello_digest TEXT NOT NULL,
  hello TEXT NOT NULL,
  challenge TEXT NOT NULL,
  session TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS seen_quotes (digest TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ak_clocks (ak_name TEXT PRIMARY KEY, clock TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS used_nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS credentials (machine_id TEXT PRIMARY KEY, nats_user_key TEXT NOT NULL, jwt TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

type Row = Record<string, unknown>;

export class SqliteMachineStore<M extends StoredMachine> implements MachineStorePort<M> {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #commit: (step: StepWrite<M>) => void;
  #outboxSeq = 0;

  /** Open (creating 0600 if absent) the database at `path`. */
  constructor(path: string) {
    this.path = path;
    try {
      if (path !== ':memory:') closeSync(openSync(path, 'a', 0o600));
      this.#db = new Database(path);
      if (path !== ':memory:') {
        chmodSync(path, 0o600);
        this.#db.pragma('journal_mode = WAL');
      }
      this.#db.pragma('synchronous = FULL');
      this.#db.exec(SCHEMA);
    } catch (e) {
      throw new SqliteStoreError(path, `cannot open (${(e as Error).message})`, { cause: e });
    }
    const max = this.#db.prepare('SELECT MAX(seq) AS m FROM outbox').get() as { m: number | null };
    this.#outboxSeq = max.m ?? 0;
    this.#commit = this.#db.transaction((step: StepWrite<M>) => this.#write(step));
  }

  #write(s: StepWrite<M>): void {
    const db = this.#db;
    if (s.machine) {
      db.prepare('INSERT INTO machines (machine_id, state, since, record) VALUES (?, ?, ?, ?) ON CONFLICT(machine_id) DO UPDATE SET state = excluded.state, since = excluded.since, record = excluded.record').run(
        s.machine.machineId,
        s.machine.state,
        s.machine.since,
        JSON.stringify(s.machine),
      );
    }
    if (s.deleteSession) db.prepare('DELETE FROM sessions WHERE machine_id = ?').run(s.deleteSession);
    if (s.putSession) {
      const p = s.putSession;
      db.prepare('INSERT OR REPLACE INTO sessions (machine_id, hello_digest, hello, challenge, session, expires_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        p.machineId,
        p.helloDigest,
        p.hello,
        p.challenge,
        p.session,
        p.expiresAt,
      );
    }
    if (s.seenQuote) db.prepare('INSERT OR IGNORE INTO seen_quotes (digest, at) VALUES (?, ?)').run(s.seenQuote.digest, s.seenQuote.at);
    if (s.akClock) db.prepare('INSERT OR REPLACE INTO ak_clocks (ak_name, clock) VALUES (?, ?)').run(s.akClock.akName, JSON.stringify(s.akClock.clock));
    if (s.usedNonce) db.prepare('INSERT INTO used_nonces (nonce, expires_at) VALUES (?, ?)').run(s.usedNonce.nonce, s.usedNonce.expiresAt);
    if (s.credentials) {
      db.prepare('INSERT OR REPLACE INTO credentials (machine_id, nats_user_key, jwt) VALUES (?, ?, ?)').run(s.credentials.machineId, s.credentials.natsUserKey, s.credentials.jwt);
    }
    if (s.outbox) {
      this.#outboxSeq += 1;
      db.prepare('INSERT OR IGNORE INTO outbox (id, seq, text) VALUES (?, ?, ?)').run(s.outbox.id, this.#outboxSeq, s.outbox.text);
    }
  }

  commit(step: StepWrite<M>): void {
    this.#commit(step);
  }

  getMachine(id: PublicKeyIdV1): M | undefined {
    const row = this.#db.prepare('SELECT record FROM machines WHERE machine_id = ?').get(id) as Row | undefined;
    return row === undefined ? undefined : (JSON.parse(row.record as string) as M);
  }

  listMachines(opts: { after?: string; limit: number }): M[] {
    const rows = this.#db.prepare('SELECT record FROM machines WHERE machine_id > ? ORDER BY machine_id LIMIT ?').all(opts.after ?? '', opts.limit) as Row[];
    return rows.map((r) => JSON.parse(r.record as string) as M);
  }

  countMachines(): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM machines').get() as { n: number }).n;
  }

  getSession(id: PublicKeyIdV1): StoredSession | undefined {
    const r = this.#db.prepare('SELECT * FROM sessions WHERE machine_id = ?').get(id) as Row | undefined;
    if (r === undefined) return undefined;
    return {
      machineId: r.machine_id as PublicKeyIdV1,
      helloDigest: r.hello_digest as string,
      hello: r.hello as string,
      challenge: r.challenge as string,
      session: r.session as string,
      expiresAt: r.expires_at as number,
    };
  }

  hasSeenQuote(digest: string): boolean {
    return this.#db.prepare('SELECT 1 FROM seen_quotes WHERE digest = ?').get(digest) !== undefined;
  }

  akClock(akName: string): TpmClockRecord | undefined {
    const r = this.#db.prepare('SELECT clock FROM ak_clocks WHERE ak_name = ?').get(akName) as Row | undefined;
    return r === undefined ? undefined : (JSON.parse(r.clock as string) as TpmClockRecord);
  }

  isNonceUsed(nonce: string): boolean {
    return this.#db.prepare('SELECT 1 FROM used_nonces WHERE nonce = ?').get(nonce) !== undefined;
  }

  credentials(id: PublicKeyIdV1): { natsUserKey: string; jwt: string } | undefined {
    const r = this.#db.prepare('SELECT nats_user_key, jwt FROM credentials WHERE machine_id = ?').get(id) as Row | undefined;
    return r === undefined ? undefined : { natsUserKey: r.nats_user_key as string, jwt: r.jwt as string };
  }

  allocateSerial(): number {
    const row = this.#db
      .prepare("INSERT INTO counters (name, value) VALUES ('certificate_serial', 1) ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value")
      .get() as { value: number };
    return row.value;
  }

  /** Reserve `count` serials in one transaction; returns the first. (A crash leaves a gap, never a repeat.) */
  allocateSerials(count: number): number {
    const row = this.#db
      .prepare("INSERT INTO counters (name, value) VALUES ('certificate_serial', ?) ON CONFLICT(name) DO UPDATE SET value = value + ? RETURNING value")
      .get(count, count) as { value: number };
    return row.value - count + 1;
  }

  /** After a rebuild: serials continue above the highest one in the ledger. */
  raiseSerial(atLeast: number): void {
    this.#db.prepare("INSERT INTO counters (name, value) VALUES ('certificate_serial', ?) ON CONFLICT(name) DO UPDATE SET value = MAX(value, excluded.value)").run(atLeast);
  }

  pendingOutbox(): OutboxEntry[] {
    return (this.#db.prepare('SELECT id, text FROM outbox ORDER BY seq').all() as Row[]).map((r) => ({ id: r.id as string, text: r.text as string }));
  }

  removeOutbox(id: string): void {
    this.#db.prepare('DELETE FROM outbox WHERE id = ?').run(id);
  }

  purgeExpiredSessions(before: number): number {
    const a = this.#db.prepare('DELETE FROM sessions WHERE expires_at < ?').run(before).changes;
    this.#db.prepare('DELETE FROM used_nonces WHERE expires_at < ?').run(before);
    return a;
  }

  clear(): void {
    this.#db.exec('DELETE FROM machines; DELETE FROM sessions; DELETE FROM seen_quotes; DELETE FROM ak_clocks; DELETE FROM credentials; DELETE FROM counters;');
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
