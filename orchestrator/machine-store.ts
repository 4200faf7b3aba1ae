/**
 * The orchestrator's projection port (adapters/sqlite implements it): the
 * machines and what the bootstrap must remember between steps — the one
 * generic declaration in bus-schemas/stores, instantiated with MachineRecord.
 */
import type { MachineStorePort, StepWrite as GenericStepWrite } from '../bus-schemas/stores/machine-store-port.js';
import type { MachineRecord } from './machine-registry.js';

export type { OutboxEntry, StoredSession, TpmClockRecord } from '../bus-schemas/stores/machine-store-port.js';
export type StepWrite = GenericStepWrite<MachineRecord>;
export type MachineStore = MachineStorePort<MachineRecord>;

/**
 * Holon certificate serials in blocks of 256: one synchronous (fsynced)
 * transaction per block instead of one per holon, which blocked the event
 * loop for every receipt. A restart abandons the rest of a block: a gap in
 * the serials, never a repeat.
 */
export function serialBlocks(store: MachineStore): () => number {
  let next = 0;
  let end = 0;
  return () => {
    if (next >= end) {
      next = store.allocateSerials(256);
      end = next + 256;
    }
    return next++;
  };
}

/** Every enrolled machine, read page by page. */
export function enrolledMachines(store: MachineStore): MachineRecord[] {
  const out: MachineRecord[] = [];
  for (let after: string | undefined; ; ) {
    const page = store.listMachines({ limit: 500, ...(after !== undefined ? { after } : {}) });
    for (const m of page) if (m.state === 'ENROLLED') out.push(m);
    if (page.length < 500) return out;
    after = (page[page.length - 1] as MachineRecord).machineId;
  }
}

