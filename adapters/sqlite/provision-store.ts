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
 * structurally (adapters never import their users). Records are parsed once
 * here, at the edge; agent commands in the outbox are decoded with their wire
 * type. The schema is versioned with `PRAGMA user_version` (MIGRATIONS).
 */
import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { AgentCommandV1 } from '../../bus-schemas/v1/unit-flow.js';
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
  placedAt: number;
}
export type StoredOutbox = { id: string; kind: 'ledger'; text: string } | { id: string; kind: 'command'; command: AgentCommandV1 };

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
  placed_at INTEGER NOT NULL DEFAULT 0,
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

/** The schema version this code writes. */
export const PROVISION_SCHEMA_VERSION = 2;

/**
 * Upgrades, one per version step, each in one transaction with the version bump.
 * 0 → 1: records keep typed budget/manifest/receipt/destruction instead of JSON strings of the request and
 * receipts; placed_at (rate_per_epoch) becomes a column; a command outbox entry holds the command itself.
 */
const MIGRATIONS: ((db: Database.Database) => void)[] = [
  (db) => {
    const cols = (db.prepare("SELECT name FROM pragma_table_info('provisions')").all() as { name: string }[]).map((c) => c.name);
    if (cols.length === 0) {
      db.exec(SCHEMA);
      return;
    }
    if (!cols.includes('placed_at')) db.exec('ALTER TABLE provisions ADD COLUMN placed_at INTEGER NOT NULL DEFAULT 0');
    db.exec(SCHEMA);
    const rows = db.prepare('SELECT request_digest, record FROM provisions').all() as { request_digest: string; record: string }[];
    const put = db.prepare('UPDATE provisions SET record = ?, placed_at = ? WHERE request_digest = ?');
    for (const row of rows) {
      const r = JSON.parse(row.record) as Record<string, unknown>;
      if (typeof r.request === 'string') {
        const req = JSON.parse(r.request) as { resource_budget: unknown; requested_capabilities: unknown };
        r.budget = req.resource_budget;
        r.manifest = req.requested_capabilities;
        delete r.request;
      }
      if (typeof r.receipt === 'string') r.receipt = JSON.parse(r.receipt);
      if (typeof r.destruction === 'string') r.destruction = JSON.parse(r.destruction);
      if (typeof r.placedAt !== 'number') r.placedAt = r.since;
      put.run(JSON.stringify(r), r.placedAt, row.request_digest);
    }
    const commands = db.prepare("SELECT id, text FROM provision_outbox WHERE kind = 'command'").all() as { id: string; text: string }[];
    const setText = db.prepare('UPDATE provision_outbox SET text = ? WHERE id = ?');
    for (const c of commands) {
      const old = JSON.parse(c.text) as { command?: unknown };
      if (typeof old.command === 'string') setText.run(old.command, c.id);
    }
  },
  // 1 → 2: a small key/value table for what the projection knows about itself (the ledger position it reflects).
  (db) => db.exec('CREATE TABLE IF NOT EXISTS projection_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)'),
];

/** Bring `db` to PROVISION_SCHEMA_VERSION, one step per transaction; refuse a file written by a newer version. */
export function migrateProvisionStore(db: Database.Database, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > PROVISION_SCHEMA_VERSION) throw new SqliteStoreError(path, `schema version ${version} is newer than this program's ${PROVISION_SCHEMA_VERSION}`);
  for (let v = version; v < PROVISION_SCHEMA_VERSION; v++) {
    db.transaction(() => {
      (MIGRATIONS[v] as (db: Database.Database) => void)(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

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
      migrateProvisionStore(this.#db, path);
    } catch (e) {
      if (e instanceof SqliteStoreError) throw e;
      throw new SqliteStoreError(path, `cannot open (${(e as Error).message})`, { cause: e });
    }
    const db = this.#db;
    this.#q = {
      put: db.prepare(
        'INSERT INTO provisions (request_digest, state, requester, nonce, machine_id, holon_id, unit_name, memory_bytes, placed_at, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT(request_digest) DO UPDATE SET state = excluded.state, machine_id = excluded.machine_id, holon_id = excluded.holon_id, unit_name = excluded.unit_name, memory_bytes = excluded.memory_bytes, placed_at = excluded.placed_at, record = excluded.record',
      ),
      outbox: db.prepare('INSERT OR IGNORE INTO provision_outbox (id, kind, text) VALUES (?, ?, ?)'),
      get: db.prepare('SELECT record FROM provisions WHERE request_digest = ?'),
      byHolon: db.prepare('SELECT record FROM provisions WHERE holon_id = ?'),
      byNonce: db.prepare('SELECT record FROM provisions WHERE requester = ? AND nonce = ?'),
      usageOn: db.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(memory_bytes), 0) AS m FROM provisions WHERE machine_id = ? AND state NOT IN ('DESTROYED', 'REFUSED')"),
      activeChildren: db.prepare("SELECT record FROM provisions WHERE requester = ? AND state NOT IN ('DESTROYED', 'REFUSED')"),
      countChildren: db.prepare("SELECT COUNT(*) AS n FROM provisions WHERE requester = ? AND state NOT IN ('DESTROYED', 'REFUSED')"),
      countPlaced: db.prepare('SELECT COUNT(*) AS n FROM provisions WHERE requester = ? AND placed_at >= ?'),
      clear: db.prepare('DELETE FROM provisions'),
      getMeta: db.prepare('SELECT value FROM projection_meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO projection_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      clearOutbox: db.prepare('DELETE FROM provision_outbox'),
      byUnit: db.prepare("SELECT record FROM provisions WHERE unit_name = ? AND state NOT IN ('DESTROYED', 'REFUSED') LIMIT 1"),
      pending: db.prepare('SELECT id, kind, text FROM provision_outbox ORDER BY seq'),
      remove: db.prepare('DELETE FROM provision_outbox WHERE id = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM provisions'),
    };
    this.#commit = db.transaction((step: { record: R; outbox?: StoredOutbox[] }) => {
      const r = step.record;
      this.#q.put!.run(r.requestDigest, r.state, r.requester, r.nonce, r.machineId, r.holonId, r.unitName, r.memoryBytes, r.placedAt, JSON.stringify(r));
      for (const o of step.outbox ?? []) this.#q.outbox!.run(o.id, o.kind, o.kind === 'ledger' ? o.text : new TextDecoder().decode(AgentCommandV1.encode(o.command)));
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
    return (this.#q.pending!.all() as { id: string; kind: string; text: string }[]).map((o) =>
      o.kind === 'command' ? { id: o.id, kind: 'command', command: AgentCommandV1.decode(o.text) } : { id: o.id, kind: 'ledger', text: o.text },
    );
  }
  countPlacedSince(requester: string, since: number): number {
    return (this.#q.countPlaced!.get(requester, since) as { n: number }).n;
  }
  getMeta(key: string): string | undefined {
    return (this.#q.getMeta!.get(key) as { value: string } | undefined)?.value;
  }
  setMeta(key: string, value: string): void {
    this.#q.setMeta!.run(key, value);
  }
  /** Forget every record and outbox entry (before a rebuild from the ledger). */
  clear(): void {
    this.#db.transaction(() => {
      this.#q.clear!.run();
      this.#q.clearOutbox!.run();
    })();
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
