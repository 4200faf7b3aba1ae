/** Public names of the SQLite adapter. Only composition roots (the main.ts files) import it. */
export { SqliteMachineStore, SqliteStoreError, type OutboxEntry, type StepWrite, type StoredMachine, type StoredSession, type TpmClockRecord } from './machine-store.js';
