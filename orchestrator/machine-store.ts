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
