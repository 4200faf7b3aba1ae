/**
 * sqlite(provisions): the orchestrator's provisioning projection
 * (better-sqlite3, WAL, mode 0600), beside the machine projection. Records
 * are JSON with the indexed columns pulled out; the outbox keeps insertion
 * order. synchronous=NORMAL: in WAL mode a transaction survives a crash of
 * the process (kill -9) — what the state machine relies on; the JetStream
 * ledger, not this file, is the durable record against power loss, and the
 * projection is rebuildable from it.
 *
 * The record shape mirrors orchestrator/provisioning/provision-store.ts
 * structurally (adapters never import their users).
 */
import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SqliteStoreError } from './machine-store.js';

export interface StoredProvision {
  requestDigest: string;
  state: string;
  requester: string;
  nonce: string;
  machineId: string | null;
  holonId: string | null;
  unitName: string | null;
  memoryBytes: number;
}
export interface StoredOutbox {
  id: string;
  kind: 'ledger' | 'command';
  text: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS provisions (
  request_digest TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  requester TEXT NOT NULL,
  nonce TEXT NOT NULL,
  machine_id TEXT,
  holon_id TEXT,
  unit_name TEXT,
  memory_bytes INTEGER NOT NULL DEFAULT 0,
  record TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS provisions_nonce ON provisions (requester, nonce);
CREATE INDEX IF NOT EXISTS provisions_holon ON provisions (holon_id);
CREATE INDEX IF NOT EXISTS provisions_machine ON provisions (machine_id, state);
CREATE INDEX IF NOT EXISTS provisions_state ON provisions (state);
CREATE INDEX IF NOT EXISTS provisions_requester ON provisions (requester, state);
CREATE INDEX IF NOT EXISTS provisions_unit ON provisions (unit_name, state);
CREATE TABLE IF NOT EXISTS provision_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, text TEXT NOT NULL);
`;

type Row = { record: string };

export class SqliteProvisionStore<R extends StoredProvision> {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #commit: (step: { record: R; outbox?: StoredOutbox[] }) => void;
  readonly #q: Record<string, Database.Statement>;

  constructor(path: string) {
    this.path = path;
    try {
      if (path !== ':memory:') closeSync(openSync(path, 'a', 0o600));
      this.#db = new Database(path);
      if (path !== ':memory:') {
        chmodSync(path, 0o600);
        this.#db.pragma('journal_mode = WAL');
      }
      this.#db.pragma('synchronous = NORMAL');
      this.#db.exec(SCHEMA);
    } catch (e) {
      throw new SqliteStoreError(path, `cannot open (${(e as Error).message})`, { cause: e });
    }
    const db = this.#db;
    this.#q = {
      put: db.prepare(
        'INSERT INTO provisions (request_digest, state, requester, nonce, machine_id, holon_id, unit_name, memory_bytes, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT(request_digest) DO UPDATE SET state = excluded.state, machine_id = excluded.machine_id, holon_id = excluded.holon_id, unit_name = excluded.unit_name, memory_bytes = excluded.memory_bytes, record = excluded.record',
      ),
      outbox: db.prepare('INSERT OR IGNORE INTO provision_outbox (id, kind, text) VALUES (?, ?, ?)'),
      get: db.prepare('SELECT record FROM provisions WHERE request_digest = ?'),
      byHolon: db.prepare('SELECT record FROM provisions WHERE holon_id = ?'),
      byNonce: db.prepare('SELECT record FROM provisions WHERE requester = ? AND nonce = ?'),
      usageOn: db.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(memory_bytes), 0) AS m FROM provisions WHERE machine_id = ? AND state NOT IN ('DESTROYED', 'REFUSED')"),
      activeChildren: db.prepare("SELECT record FROM provisions WHERE requester = ? AND state NOT IN ('DESTROYED', 'REFUSED')"),
      countChildren: db.prepare("SELECT COUNT(*) AS n FROM provisions WHERE requester = ? AND state NOT IN ('DESTROYED', 'REFUSED')"),
      byUnit: db.prepare("SELECT record FROM provisions WHERE unit_name = ? AND state NOT IN ('DESTROYED', 'REFUSED') LIMIT 1"),
      pending: db.prepare('SELECT id, kind, text FROM provision_outbox ORDER BY seq'),
      remove: db.prepare('DELETE FROM provision_outbox WHERE id = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM provisions'),
    };
    this.#commit = db.transaction((step: { record: R; outbox?: StoredOutbox[] }) => {
      const r = step.record;
      this.#q.put!.run(r.requestDigest, r.state, r.requester, r.nonce, r.machineId, r.holonId, r.unitName, r.memoryBytes, JSON.stringify(r));
      for (const o of step.outbox ?? []) this.#q.outbox!.run(o.id, o.kind, o.text);
    });
  }

  #one(stmt: Database.Statement, ...args: unknown[]): R | undefined {
    const row = stmt.get(...args) as Row | undefined;
    return row === undefined ? undefined : (JSON.parse(row.record) as R);
  }

  #all(stmt: Database.Statement, ...args: unknown[]): R[] {
    return (stmt.all(...args) as Row[]).map((r) => JSON.parse(r.record) as R);
  }

  get(requestDigest: string): R | undefined {
    return this.#one(this.#q.get!, requestDigest);
  }
  byHolon(holonId: string): R | undefined {
    return this.#one(this.#q.byHolon!, holonId);
  }
  byNonce(requester: string, nonce: string): R | undefined {
    return this.#one(this.#q.byNonce!, requester, nonce);
  }
  list(opts: { after?: string; limit: number; requester?: string; includeDestroyed: boolean }): R[] {
    const where = ['request_digest > ?'];
    const args: unknown[] = [opts.after ?? ''];
    if (opts.requester !== undefined) {
      where.push('requester = ?');
      args.push(opts.requester);
    }
    if (!opts.includeDestroyed) where.push("state <> 'DESTROYED'");
    args.push(opts.limit);
    return this.#all(this.#db.prepare(`SELECT record FROM provisions WHERE ${where.join(' AND ')} ORDER BY request_digest LIMIT ?`), ...args);
  }
  usageOn(machineId: string): { units: number; memoryBytes: number } {
    const r = this.#q.usageOn!.get(machineId) as { n: number; m: number };
    return { units: r.n, memoryBytes: r.m };
  }
  countActiveChildren(requester: string): number {
    return (this.#q.countChildren!.get(requester) as { n: number }).n;
  }
  activeByUnit(unitName: string): R | undefined {
    return this.#one(this.#q.byUnit!, unitName);
  }
  activeChildren(requester: string): R[] {
    return this.#all(this.#q.activeChildren!, requester);
  }
  inStates(states: readonly string[]): R[] {
    if (states.length === 0) return [];
    return this.#all(this.#db.prepare(`SELECT record FROM provisions WHERE state IN (${states.map(() => '?').join(', ')})`), ...states);
  }
  commit(step: { record: R; outbox?: StoredOutbox[] }): void {
    this.#commit(step);
  }
  pendingOutbox(): StoredOutbox[] {
    return this.#q.pending!.all() as StoredOutbox[];
  }
  removeOutbox(id: string): void {
    this.#q.remove!.run(id);
  }
  count(): number {
    return (this.#q.count!.get() as { n: number }).n;
  }
  close(): void {
    this.#db.close();
  }
}
