/**
 * The one way an orchestrator step reaches the bus, shared by bootstrap and
 * provisioning: the step's projection change, its ledger entry and any agent
 * command are persisted in ONE store transaction (the write-ahead outbox),
 * and only then published.
 *
 *   write(entry, persist, command?)  under the owner's lock: seal the owner's next entry,
 *                                    persist(outbox) — the caller's store transaction —,
 *                                    publish the entry and drop it from the outbox;
 *                                    then send the command, if any, and drop it.
 *   flush()                          publish, in commit order, what a crash left in the outbox.
 *   append(owner, kind, body)        an entry with nothing to persist (a job run).
 *
 * Publishing twice is harmless: a ledger entry collapses on its digest (or is
 * sealed again on the current head if its place was taken: never lost, never
 * doubled), a command on its msg id. So a crash before `persist` leaves
 * nothing, and a crash after it is repaired by the next flush.
 */
import type { Clock } from '../bus-schemas/clock.js';
import type { HolonIdV1 } from '../bus-schemas/ids.js';
import type { JsonValue } from '../bus-schemas/json-value.js';
import { KeyedLock } from '../bus-schemas/keyed-lock.js';
import type { Logger } from 'pino';

/** The ledger as a write-ahead outbox (adapters/nats/ledger-outbox.ts implements it). */
export interface StepLedger {
  /** Seal `owner`'s next entry now. `text` is persisted by the caller and opaque to it; `id` names the entry. */
  prepare(owner: HolonIdV1, kind: string, body: JsonValue, at: number): Promise<{ id: string; text: string }>;
  /** Publish a prepared entry; publishing the same text again is harmless. */
  commit(text: string): Promise<void>;
}

/** What the bus is still owed once a step is persisted: a prepared ledger entry, or an agent command. */
export type LedgerOutboxItem = { id: string; kind: 'ledger'; text: string };
export type CommandOutboxItem<C> = { id: string; kind: 'command'; command: C };
export type OutboxItem<C> = LedgerOutboxItem | CommandOutboxItem<C>;

/** The outbox items one step persists: its ledger entry first, then its command (if any). */
export type StepOutbox<C> = [LedgerOutboxItem, ...CommandOutboxItem<C>[]];

export interface StepWriterDeps<C> {
  ledger: StepLedger;
  /** The store's outbox: what is still owed to the bus, in commit order. */
  outbox: { pendingOutbox(): readonly OutboxItem<C>[]; removeOutbox(id: string): void };
  /** Agent commands: a command's outbox id (stable, so a re-persisted command is one item) and how to send it. */
  commands?: { id(command: C): string; send(command: C): Promise<void> };
  clock: Clock;
}

/** One ledger entry of a step: `owner`'s chain, sealed at `at`. */
export interface StepEntry {
  owner: HolonIdV1;
  kind: string;
  body: JsonValue;
  at: number;
}

export class StepWriter<C = never> {
  readonly #d: StepWriterDeps<C>;
  /** One prepare → persist → publish at a time per chain, so each entry is sealed on the head the previous one left. */
  readonly #owners = new KeyedLock();

  constructor(deps: StepWriterDeps<C>) {
    this.#d = deps;
  }

  /**
   * Seal `entry`, hand it (and `command`) to `persist` — which must write them with the step's projection
   * change in one transaction, and throw if it cannot —, then publish both and drop them from the outbox.
   */
  async write(entry: StepEntry, persist: (outbox: StepOutbox<C>) => void, command?: C): Promise<void> {
    const cmd = command === undefined ? undefined : this.#commandItem(command);
    await this.#owners.run(entry.owner, async () => {
      const p = await this.#d.ledger.prepare(entry.owner, entry.kind, entry.body, entry.at);
      const ledger: LedgerOutboxItem = { id: p.id, kind: 'ledger', text: p.text };
      persist(cmd === undefined ? [ledger] : [ledger, cmd]);
      await this.#publish(ledger);
    });
    if (cmd !== undefined) await this.#publish(cmd);
  }

  /** Publish, in order, whatever a crash left in the outbox. */
  async flush(): Promise<void> {
    for (const item of this.#d.outbox.pendingOutbox()) await this.#publish(item);
  }

  /** Append an entry that changes no projection (nothing to persist): sealed and published under the owner's lock. */
  append(owner: HolonIdV1, kind: string, body: JsonValue): Promise<void> {
    return this.#owners.run(owner, async () => {
      const p = await this.#d.ledger.prepare(owner, kind, body, this.#d.clock.now());
      await this.#d.ledger.commit(p.text);
    });
  }

  #commandItem(command: C): CommandOutboxItem<C> {
    return { id: this.#commands().id(command), kind: 'command', command };
  }

  async #publish(item: OutboxItem<C>): Promise<void> {
    if (item.kind === 'ledger') await this.#d.ledger.commit(item.text);
    else await this.#commands().send(item.command);
    this.#d.outbox.removeOutbox(item.id);
  }

  #commands(): NonNullable<StepWriterDeps<C>['commands']> {
    const c = this.#d.commands;
    if (c === undefined) throw new Error('step writer: this outbox has agent commands, but no command port was given');
    return c;
  }
}

/**
 * Fault injection for the crash tests only: with HOLONET_TEST_CRASH_AFTER=<LEDGER KIND>
 * the process SIGKILLs itself when an entry of that kind it prepared is about
 * to be published. The step writer publishes only after the store committed
 * the step that carries the entry (bootstrap and provisioning alike): the
 * step is persisted, not yet published, not answered.
 */
export function withCrashPoint(ledger: StepLedger, kind: string | undefined, log: Logger): StepLedger {
  if (kind === undefined || kind === '') return ledger;
  log.warn({ kind }, 'HOLONET_TEST_CRASH_AFTER is set: this process will kill itself (test fault injection)');
  const armed = new Set<string>();
  return {
    async prepare(owner, entryKind, body, at) {
      const p = await ledger.prepare(owner, entryKind, body, at);
      if (entryKind === kind) armed.add(p.text);
      return p;
    },
    async commit(text) {
      if (armed.has(text)) process.kill(process.pid, 'SIGKILL');
      await ledger.commit(text);
    },
  };
}
